"""Root-cause analysis: problematic slices, change attribution, failure templates, latency."""
