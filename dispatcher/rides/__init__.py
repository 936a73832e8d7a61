"""rides"""
