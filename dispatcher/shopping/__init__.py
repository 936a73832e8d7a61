"""shopping"""
