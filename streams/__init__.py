"""Streams: the Faust app, its agents, the replicated registers, and the pure rule/enrichment logic."""
