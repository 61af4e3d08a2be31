"""loyalist.features"""
