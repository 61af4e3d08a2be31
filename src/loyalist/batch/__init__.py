"""loyalist.batch"""
