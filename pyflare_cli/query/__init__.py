"""The read path every command and the TUI share: spans, prices, windows, budgets, samples."""
