"""Drift: features of a model's spans, per-feature tests, concept drift, drift over time."""
