"""Traces: one summary row per trace, and one trace's tree, critical path and self times."""
