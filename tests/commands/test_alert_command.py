"""``pyflare alert``: check and its gate, states across runs, list, ack, resolve, history,
silences, watch, rules, and notifications to a real webhook on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cli_support import invoke

RULES = """\
groups:
  - name: llm
    rules:
      - alert: MiniErrors
        threshold:
          {aggregate: error_rate, where: "model:gpt-4o-mini", by: [model], op: ">", value: 0.05}
        window: 2h
        for: 10m
        severity: critical
        annotations: {summary: "{{ $labels.model }} fails {{ $value | percent }} of calls"}
      - alert: Traffic
        threshold: {aggregate: count, op: ">", value: 0}
        window: 1h
        severity: info
      - alert: RateLimits
        pattern: {regex: "(?i)rate limit", min_count: 1}
        window: 2h
        severity: warning
"""


@pytest.fixture
def store(incident_store: Path, tmp_path: Path) -> Path:
    """A private copy: alert state is written under the store."""
    copy = tmp_path / "store"
    shutil.copytree(incident_store, copy)
    return copy


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(RULES)
    return path


def _check(store: Path, rules: Path, at: str, *more: str) -> Any:
    return invoke("alert", "check", "--rules", str(rules), "--store", str(store), "--at", at, *more)


def _alerts(store: Path, *more: str) -> list[dict[str, Any]]:
    result = invoke("alert", "list", "--store", str(store), "--format", "json", *more)
    assert result.exit_code == 0, result.output
    alerts: list[dict[str, Any]] = json.loads(result.stdout)
    return alerts


def test_check_states_persist_across_runs(store: Path, rules: Path) -> None:
    first = _check(store, rules, "2026-11-20T10:00")
    assert first.exit_code == 1, first.output  # RateLimits (warning) fires at once
    states = {a["alertname"]: a["state"] for a in _alerts(store)}
    assert states == {"MiniErrors": "pending", "Traffic": "firing", "RateLimits": "firing"}
    _check(store, rules, "2026-11-20T10:05")
    assert {a["alertname"]: a["state"] for a in _alerts(store)}["MiniErrors"] == "pending"
    _check(store, rules, "2026-11-20T10:11")  # held for 11 minutes: past `for: 10m`
    mini = next(a for a in _alerts(store) if a["alertname"] == "MiniErrors")
    assert mini["state"] == "firing" and mini["startsAt"] == "2026-11-20T10:11:00Z"
    assert mini["labels"]["model"] == "gpt-4o-mini"
    assert mini["annotations"]["summary"].startswith("gpt-4o-mini fails ")
    history = invoke("alert", "history", "--store", str(store), "--format", "json")
    changes = [(e["alertname"], e["from"], e["to"]) for e in json.loads(history.stdout)]
    assert ("MiniErrors", "pending", "firing") in changes


def test_fail_severity_and_no_notify(store: Path, rules: Path) -> None:
    only_critical = _check(store, rules, "2026-11-20T10:00", "--fail-severity", "critical")
    assert only_critical.exit_code == 0, only_critical.output  # MiniErrors is only pending
    bad = _check(store, rules, "2026-11-20T10:00", "--fail-severity", "page")
    assert bad.exit_code == 2 and "--fail-severity 'page'" in bad.stderr


def test_resolution_when_the_condition_stops(store: Path, rules: Path) -> None:
    _check(store, rules, "2026-11-20T10:00")
    _check(store, rules, "2026-11-25T10:00")  # no spans any more: nothing holds
    states = {a["alertname"]: a["state"] for a in _alerts(store)}
    assert states["Traffic"] == "resolved" and "MiniErrors" not in states


def test_ack_and_resolve_by_id(store: Path, rules: Path) -> None:
    _check(store, rules, "2026-11-20T10:00")
    traffic = next(a for a in _alerts(store) if a["alertname"] == "Traffic")
    acked = invoke("alert", "ack", traffic["id"][:6], "--comment", "on it", "--by", "ana",
                   "--store", str(store))  # fmt: skip
    assert acked.exit_code == 0 and "acknowledged" in acked.stdout
    again = next(a for a in _alerts(store) if a["alertname"] == "Traffic")
    assert again["acknowledgedBy"] == "ana"
    done = invoke("alert", "resolve", traffic["id"], "--store", str(store))
    assert done.exit_code == 0
    assert [a for a in _alerts(store, "--state", "resolved") if a["id"] == traffic["id"]]
    twice = invoke("alert", "resolve", traffic["id"], "--store", str(store))
    assert twice.exit_code == 2 and "already resolved" in twice.stderr
    unknown = invoke("alert", "ack", "zzzz", "--store", str(store))
    assert unknown.exit_code == 2 and "no alert 'zzzz'" in unknown.stderr


def test_silences(store: Path) -> None:
    added = invoke("alert", "silence", "add", "--matcher", "alertname=~Rate.*", "--duration",
                   "2h", "--comment", "provider incident", "--store", str(store))  # fmt: skip
    assert added.exit_code == 0, added.output
    silence_id = added.stdout.split()[1]
    listed = invoke("alert", "silence", "list", "--store", str(store), "--format", "json")
    (row,) = json.loads(listed.stdout)
    assert row["id"] == silence_id and row["state"] == "active"
    assert row["matchers"] == 'alertname=~"Rate.*"'
    expired = invoke("alert", "silence", "expire", silence_id, "--store", str(store))
    assert expired.exit_code == 0
    assert invoke("alert", "silence", "list", "--store", str(store)).stdout.startswith("no ")
    bad = invoke("alert", "silence", "add", "--matcher", "model=~(", "--duration", "1h",
                 "--comment", "x", "--store", str(store))  # fmt: skip
    assert bad.exit_code == 2 and "--matcher" in bad.stderr


def test_watch_stops_after_max_runs(store: Path, rules: Path) -> None:
    result = invoke("alert", "watch", "--rules", str(rules), "--store", str(store),
                    "--interval", "1s", "--max-runs", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "stopped after 2 evaluation(s)" in result.stdout


def test_rules_are_checked_with_file_and_line(tmp_path: Path, store: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.replace('op: ">", value: 0}', 'op: "~", value: 0}'))
    result = invoke("alert", "rules", "--rules", str(bad))
    assert result.exit_code == 2 and f"{bad}:12:" in result.stderr and "op '~'" in result.stderr
    check = invoke("alert", "check", "--rules", str(bad), "--store", str(store))
    assert check.exit_code == 2
    missing = invoke(
        "alert", "check", "--rules", str(tmp_path / "none.yaml"), "--store", str(store)
    )
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    _Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_check_notifies_a_real_webhook(store: Path, tmp_path: Path, webhook: str) -> None:
    rules = tmp_path / "notify.yaml"
    rules.write_text(
        RULES + f"notifications:\n  - {{name: hook, type: webhook, url: '{webhook}'}}\n"
    )
    result = _check(store, rules, "2026-11-20T10:00")
    assert result.exit_code == 1, result.output
    names = {a["labels"]["alertname"] for body in _Hook.received for a in body["alerts"]}
    assert names == {"Traffic", "RateLimits"}  # pending MiniErrors is not sent
    assert all(body["version"] == "4" and body["status"] == "firing" for body in _Hook.received)
    sent = len(_Hook.received)
    _check(store, rules, "2026-11-20T10:01")
    assert len(_Hook.received) == sent  # unchanged groups are not sent again within 5 minutes


def test_drift_and_budget_conditions(store: Path, tmp_path: Path) -> None:
    rules = tmp_path / "more.yaml"
    rules.write_text(
        """\
groups:
  - name: quality
    rules:
      - alert: ClaudeDrift
        drift: {model: claude-sonnet-4-20250514, fail_on: warning}
      - alert: NoSuchModel
        drift: {model: nope}
      - alert: DailySpend
        budget: {name: daily, status: [exceeded]}
"""
    )
    config = tmp_path / "pyflare.yaml"
    config.write_text("budgets:\n  - {name: daily, period: day, limit_usd: 0.01}\n")
    result = invoke("alert", "check", "--rules", str(rules), "--store", str(store), "--config",
                    str(config), "--at", "2026-11-20T12:00", "--format", "json")  # fmt: skip
    assert result.exit_code == 1, result.output
    firing = {a["alertname"]: a for a in json.loads(result.stdout)["alerts"]}
    assert firing["ClaudeDrift"]["labels"]["model"] == "claude-sonnet-4-20250514"
    assert firing["DailySpend"]["labels"]["budget"] == "daily"
    assert firing["DailySpend"]["value"] > 0.01
    assert "NoSuchModel" not in firing
    assert "alert NoSuchModel not evaluated" in result.stderr


def test_alerts_of_removed_rules_resolve_and_leave(store: Path, rules: Path) -> None:
    first = _check(store, rules, "2026-11-20T10:00")
    assert first.exit_code == 1  # Traffic and RateLimits fire
    only_mini = rules.parent / "only_mini.yaml"
    only_mini.write_text(RULES.split("      - alert: Traffic")[0])
    second = _check(store, only_mini, "2026-11-20T10:01")
    assert second.exit_code == 0, second.output  # MiniErrors is pending: nothing fires
    assert {a["alertname"] for a in _alerts(store)} == {"MiniErrors"}
    history = invoke("alert", "history", "--store", str(store), "--format", "json")
    removed = {
        (e["alertname"], e["to"])
        for e in json.loads(history.stdout)
        if e.get("reason") == "rule removed"
    }
    assert removed == {("Traffic", "resolved"), ("RateLimits", "resolved")}


def test_at_before_the_last_evaluation_is_refused(store: Path, rules: Path) -> None:
    assert _check(store, rules, "2026-11-20T10:05").exit_code == 1
    earlier = _check(store, rules, "2026-11-20T10:00")
    assert earlier.exit_code == 2
    assert "earlier than the last evaluation" in earlier.stderr
    assert len(earlier.stderr.strip().splitlines()) == 1
    assert _check(store, rules, "2026-11-20T10:05").exit_code == 1  # the same time again is ok


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("notifications:\n  - {name: x, type: email, url: 'http://127.0.0.1/'}\n",
         "notifications[0].type: 'email' is not one of webhook, slack, pagerduty"),
        ("notifications:\n  - {name: pd, type: pagerduty}\n",
         "notifications[0].routing_key: missing"),
        ("notifications:\n  - {name: hook, type: webhook, url: 'ftp://example.com/x'}\n",
         "notifications[0].url: must be an http:// or https:// URL"),
        ("notifications:\n  - {name: hook, type: slack, url: '${PYFLARE_NO_SUCH_VAR}'}\n",
         "environment variable PYFLARE_NO_SUCH_VAR is not set"),
        ("maintenance:\n  - {name: m, matchers: ['nope']}\n", "maintenance"),
    ],
)  # fmt: skip
def test_rules_lint_the_notification_targets(
    tmp_path: Path, store: Path, section: str, expected: str
) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(RULES + section)
    result = invoke("alert", "rules", "--rules", str(path))
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and str(path) in result.stderr
    check = invoke("alert", "check", "--rules", str(path), "--store", str(store))
    assert check.exit_code == 2 and expected in check.stderr
    assert not (store / "alerts" / "state.json").exists()  # refused before any state moved


def test_rules_lint_budget_names_and_regexes(tmp_path: Path) -> None:
    config = tmp_path / "pyflare.yaml"
    config.write_text("budgets:\n  - {name: daily, period: day, limit_usd: 10}\n")
    path = tmp_path / "alerts.yaml"
    path.write_text(
        "groups:\n  - name: cost\n    rules:\n      - alert: Spend\n        budget: {name: dayly}\n"
    )
    result = invoke("alert", "rules", "--rules", str(path), "--config", str(config))
    assert result.exit_code == 2
    assert f"{path}:4: alert 'Spend': budget 'dayly' is not in pyflare.yaml" in result.stderr
    assert "budgets: daily" in result.stderr
    path.write_text(RULES.replace("(?i)rate limit", "(rate limit"))
    bad = invoke("alert", "rules", "--rules", str(path), "--config", str(config))
    assert bad.exit_code == 2
    assert bad.stderr.strip().endswith("pattern.regex '(rate limit': unclosed group")
    path.write_text(RULES.replace("(?i)rate limit", "(?<!no )rate limit"))
    around = invoke("alert", "rules", "--rules", str(path), "--config", str(config))
    assert around.exit_code == 2 and "look-around" in around.stderr
    assert "col(" not in around.stderr


def test_watch_no_notify_sends_nothing(store: Path, tmp_path: Path, webhook: str) -> None:
    rules = tmp_path / "notify.yaml"
    rules.write_text(
        RULES + f"notifications:\n  - {{name: hook, type: webhook, url: '{webhook}'}}\n"
    )
    quiet = invoke("alert", "watch", "--rules", str(rules), "--store", str(store),
                   "--interval", "1s", "--max-runs", "1", "--no-notify")  # fmt: skip
    assert quiet.exit_code == 0, quiet.output
    assert "Traffic" in quiet.stdout  # the states moved
    assert _Hook.received == []
    loud = invoke("alert", "watch", "--rules", str(rules), "--store", str(store),
                  "--interval", "1s", "--max-runs", "1")  # fmt: skip
    assert loud.exit_code == 0, loud.output
    assert _Hook.received  # the same watch without --no-notify sends


def test_check_verdict_json_and_markdown(store: Path, rules: Path) -> None:
    result = _check(store, rules, "2026-11-20T10:00", "--format", "json")
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert payload["version"] == 1 and payload["verdict"] == "fail"
    assert payload["gate"] == "alert check" and payload["fail_severity"] == "warning"
    assert payload["since"] == "2026-11-20T08:00:00+00:00"  # the longest window, 2h
    assert payload["until"] == "2026-11-20T10:00:00+00:00"
    checks = {c["name"]: c for c in payload["checks"]}
    assert list(checks) == ["MiniErrors", "Traffic", "RateLimits"]
    mini, traffic, limits = checks["MiniErrors"], checks["Traffic"], checks["RateLimits"]
    assert mini["passed"] is True and mini["limit"] == "error_rate > 0.05"
    assert mini["detail"] == "0 firing, 1 pending (critical)" and 0.05 < mini["value"] < 1
    assert traffic["passed"] is True and traffic["limit"] == "count > 0"  # info < warning
    assert traffic["detail"] == "1 firing, 0 pending (info), below --fail-severity warning"
    assert traffic["value"] > 0 and traffic["offending"] == []
    assert limits["passed"] is False and limits["offending"][0]["state"] == "firing"
    assert limits["offending"][0]["severity"] == "warning"
    assert limits["limit"] == ">= 1 error(s) matching regex (?i)rate limit"
    assert {a["alertname"] for a in payload["alerts"]} == {"MiniErrors", "Traffic", "RateLimits"}
    markdown = _check(store, rules, "2026-11-20T10:01", "--format", "markdown",
                      "--fail-severity", "critical")  # fmt: skip
    assert markdown.exit_code == 0, markdown.output
    text = markdown.stdout
    assert text.startswith("**PASS** `alert check` (2026-11-20T08:01:00+00:00 .. ")
    assert "| Traffic | count > 0 |" in text and "below --fail-severity critical" in text
    assert "| RateLimits | >= 1 error(s) matching regex (?i)rate limit | " in text
    assert "nan" not in text and "e-0" not in text
    failed = _check(store, rules, "2026-11-20T10:02", "--format", "markdown")
    assert failed.exit_code == 1
    assert failed.stdout.startswith("**FAIL** `alert check`")
    assert "1 of 3 checks failed" in failed.stdout and "Offending (RateLimits):" in failed.stdout


def test_check_verdict_on_an_empty_window_warns(store: Path, rules: Path) -> None:
    result = _check(store, rules, "2026-12-20T10:00", "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["verdict"] == "pass" and payload["spans"] == 0
    assert any("no spans in the rules' lookback window" in w for w in payload["warnings"])
