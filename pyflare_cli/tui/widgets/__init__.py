"""Widgets of the TUI: the virtualised waterfall, the search bar, facets, the trace table."""
