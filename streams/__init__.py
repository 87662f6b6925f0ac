"""Streams: the Faust app, its agents and tables, and the pure rule/enrichment logic."""
