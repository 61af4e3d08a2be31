"""loyalist.scoring"""
