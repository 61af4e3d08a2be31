"""loyalist.report"""
