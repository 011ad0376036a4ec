"""The TUI's headless parts: what it reads, diffs, waterfall state and history; no Textual."""
