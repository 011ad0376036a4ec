"""Alerting over the span store: rules, evaluation, states, silences and notifications."""
