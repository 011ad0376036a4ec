"""Alerting's files under the store's ``alerts/`` folder: alert states, history, silences."""
