"""loyalist.modeling"""
