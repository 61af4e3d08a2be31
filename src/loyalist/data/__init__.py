"""loyalist.data"""
