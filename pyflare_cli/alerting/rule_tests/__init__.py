"""Unit tests for alert rules (`pyflare alert test`): the test file, its spans, runs, reports."""
