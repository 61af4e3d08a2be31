"""loyalist.tracking"""
