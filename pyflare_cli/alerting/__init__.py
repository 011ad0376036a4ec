"""Alerting over the span store: rules, evaluation, states, silences and notifications.

Pure, and checked so by import-linter: ``rules/`` (the rule model, rule files read with
file and line, templates), ``engine/`` (measures, conditions into samples, the
Prometheus-style state machine) and ``muting/`` (matchers, silences, maintenance windows,
inhibition). Apart from them: ``state/`` (the alert state, history and silences on disk),
``notify/`` (grouping, the outbox, payloads and the HTTP transport), ``rule_tests/``
(`pyflare alert test`) and ``check.py``, which wires one evaluation together.
"""
