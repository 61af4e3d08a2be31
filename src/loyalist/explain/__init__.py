"""loyalist.explain"""
