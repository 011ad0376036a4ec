"""The screens of the TUI: trace list, waterfall, span detail, statistics, compare, help."""
