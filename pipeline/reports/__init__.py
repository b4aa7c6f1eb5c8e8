"""Trends, investigations, tuning and the weekly report: DataFrames first, markdown last."""
