"""Rule tests (`pyflare alert test`): the docs example passes, failures come with a diff,
bad test files are refused with file:line, and results do not change from run to run."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pyflare_cli.alerting.rule_tests.report import report_lines, summary
from pyflare_cli.alerting.rule_tests.run import CheckResult, run_test_file
from pyflare_cli.alerting.rule_tests.spec import load_test_file
from pyflare_cli.errors import UsageError

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "docs" / "examples"
FIXTURE_TRACE = ROOT / "fixtures" / "otlp" / "trace.json"
START = datetime(2026, 1, 1, tzinfo=UTC)

# One rule, inline: fires per model when more than 10% of the calls in 5 minutes fail.
RULES = """\
rules:
  groups:
    - name: llm
      rules:
        - alert: HighErrorRate
          threshold: {aggregate: error_rate, by: [model], op: ">", value: 0.1}
          window: 5m
          for: 2m
          severity: critical
          labels: {team: ml}
          annotations:
            summary: "{{ $labels.model }} fails {{ $value | percent }} of calls"
"""
# 4 calls a minute to gpt-4o-mini from 0m to 20m; from 5m to 10m one call in two fails.
SPANS = """\
    spans:
      - {from: 0m, to: 20m, every: 15s, model: gpt-4o-mini, type: llm, status: ok}
      - {from: 5m, to: 10m, every: 15s, model: gpt-4o-mini, type: llm, error: "APIError: boom"}
"""


def write(tmp_path: Path, text: str, name: str = "t.test.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def one_test(tmp_path: Path, checks: str) -> Path:
    """A test file with the inline rule, the spans above, and ``checks`` (YAML lines)."""
    return write(tmp_path, RULES + "tests:\n  - name: incident\n" + SPANS + checks)


def failing(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.passed]


# --- the example in docs/ -----------------------------------------------------------------


@pytest.fixture(scope="module")
def docs_results() -> list[CheckResult]:
    return run_test_file(EXAMPLES / "alerts.test.yaml")


def test_docs_example_passes(docs_results: list[CheckResult]) -> None:
    results = docs_results
    assert failing(results) == [], "\n".join(report_lines(results))
    assert len(results) >= 25
    assert len({r.test for r in results}) == 5
    assert summary(results).startswith(f"all {len(results)} checks of 5 tests passed")


def test_docs_example_covers_every_rule_and_state() -> None:
    loaded = load_test_file(EXAMPLES / "alerts.test.yaml")
    names = {rule.name for rule in loaded.rules.rules}
    expected = [e for t in loaded.tests for c in t.checks for e in c.alerts]
    assert {e.alertname for e in expected} == names
    assert {e.state for e in expected} == {"pending", "firing"}
    text = (EXAMPLES / "alerts.test.yaml").read_text()
    assert "keep_firing_for" in text
    assert any(e.annotations for e in expected)


def test_the_docs_example_fails_when_an_expectation_is_wrong(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "alerts.yaml", tmp_path / "alerts.yaml")
    text = (EXAMPLES / "alerts.test.yaml").read_text()
    wrong = text.replace("fails 28.6% of calls", "fails 28% of calls", 1)
    assert wrong != text
    results = run_test_file(write(tmp_path, wrong, "alerts.test.yaml"), only=["error rate"])
    [bad] = failing(results)
    assert bad.at == "14m"
    assert bad.time == START + timedelta(minutes=14)
    assert "~ HighErrorRate{" in bad.diff[0]
    assert "summary: expected 'gpt-4o-mini fails 28% of calls'" in "\n".join(bad.diff)
    assert "got 'gpt-4o-mini fails 28.6% of calls'" in "\n".join(bad.diff)


# --- diffs ----------------------------------------------------------------------------------


def test_passing_checks_over_the_whole_lifecycle(tmp_path: Path) -> None:
    # errors enter the window at 5m: pending from 6m (1 in 5 fail), firing from 8m,
    # resolved at 15m when the last failure (9m45s) has left the window
    path = one_test(
        tmp_path,
        """\
    checks:
      - {at: 5m, alerts: []}
      - {at: 6m, alerts: []}
      - at: 6m
        alerts: [{alertname: HighErrorRate, state: pending, labels: {model: gpt-4o-mini}}]
      - at: 8m
        alerts:
          - alertname: HighErrorRate
            labels: {model: gpt-4o-mini}
            annotations: {summary: "gpt-4o-mini fails 37.5% of calls"}
            value: 0.375
      - {at: 14m, alerts: [{alertname: HighErrorRate, labels: {model: gpt-4o-mini}}]}
      - {at: 15m, alerts: []}
""",
    )
    results = run_test_file(path)
    assert [r.passed for r in results] == [True] * 6, "\n".join(report_lines(results))
    assert [r.at for r in results] == ["5m", "6m", "6m", "8m", "14m", "15m"]
    assert results[0].source == f"{path}:19"


def test_a_wrong_expected_label_shows_both_alerts(tmp_path: Path) -> None:
    path = one_test(
        tmp_path,
        """\
    checks:
      - at: 8m
        alerts:
          - {alertname: HighErrorRate, labels: {model: gpt-4o}}
""",
    )
    [result] = run_test_file(path)
    assert not result.passed
    assert result.diff[0] == (
        f'- HighErrorRate{{model="gpt-4o", severity="critical", team="ml"}} firing  ({path}:21)'
    )
    assert result.diff[1] == (
        '+ HighErrorRate{model="gpt-4o-mini", severity="critical", team="ml"} firing value=0.375'
    )
    assert result.diff[2].strip() == "summary: 'gpt-4o-mini fails 37.5% of calls'"


def test_a_missing_alert(tmp_path: Path) -> None:
    path = one_test(
        tmp_path,
        """\
    checks:
      - at: 3m
        alerts:
          - alertname: HighErrorRate
            labels: {model: gpt-4o-mini}
            annotations: {summary: "gpt-4o-mini fails 50.0% of calls"}
""",
    )
    [result] = run_test_file(path)
    assert result.diff == [
        f'- HighErrorRate{{model="gpt-4o-mini", severity="critical", team="ml"}} firing  '
        f"({path}:21)",
        "      summary: 'gpt-4o-mini fails 50.0% of calls'",
    ]


def test_an_unexpected_alert(tmp_path: Path) -> None:
    path = one_test(tmp_path, "    checks:\n      - {at: 9m, alerts: []}\n")
    [result] = run_test_file(path)
    assert result.diff == [
        '+ HighErrorRate{model="gpt-4o-mini", severity="critical", team="ml"} firing '
        "value=0.444444",
        "      summary: 'gpt-4o-mini fails 44.4% of calls'",
    ]


def test_a_different_state_annotation_and_value(tmp_path: Path) -> None:
    path = one_test(
        tmp_path,
        """\
    checks:
      - at: 9m
        alerts:
          - alertname: HighErrorRate
            state: pending
            labels: {model: gpt-4o-mini}
            annotations: {summary: "gpt-4o-mini fails 30% of calls", runbook: x}
            value: 0.3
""",
    )
    [result] = run_test_file(path)
    assert result.diff == [
        f'~ HighErrorRate{{model="gpt-4o-mini", severity="critical", team="ml"}}  ({path}:21)',
        "      state: expected pending, got firing",
        "      runbook: expected 'x', got no such annotation",
        "      summary: expected 'gpt-4o-mini fails 30% of calls', "
        "got 'gpt-4o-mini fails 44.4% of calls'",
        "      value: expected 0.3, got 0.444444",
    ]


def test_a_pending_alert_expected_as_firing_says_it_is_pending(tmp_path: Path) -> None:
    path = one_test(
        tmp_path,
        "    checks:\n"
        "      - {at: 7m, alerts: [{alertname: HighErrorRate, labels: {model: gpt-4o-mini}}]}\n",
    )
    [result] = run_test_file(path)
    assert result.diff[0].startswith('- HighErrorRate{model="gpt-4o-mini"')
    assert "(it is pending, value=0.285714: expect state: pending" in result.diff[1]


def test_report_and_summary(tmp_path: Path) -> None:
    path = one_test(
        tmp_path, "    checks:\n      - {at: 1m, alerts: []}\n      - {at: 9m, alerts: []}\n"
    )
    results = run_test_file(path)
    lines = report_lines(results)
    assert lines[0] == "FAIL  incident (1 of 2 checks failed)"
    assert lines[1] == f"  at 9m (2026-01-01T00:09:00Z), {path}:20:"
    assert lines[2].startswith('    + HighErrorRate{model="gpt-4o-mini"')
    assert lines[-1].startswith("(- expected but not there")
    assert summary(results) == "1 of 2 checks failed in 1 of 1 tests: incident"
    passed = [r for r in results if r.passed]
    assert report_lines(passed) == ["PASS  incident (1 checks)"]


def test_the_value_matches_at_the_precision_written(tmp_path: Path) -> None:
    checks = "".join(
        f"      - {{at: 9m, alerts: [{{alertname: HighErrorRate, labels: {{model: gpt-4o-mini}}, "
        f"value: {value}}}]}}\n"
        for value in ("0.444", "0.44", "0.4444444", "0.445", "0.5")
    )
    results = run_test_file(one_test(tmp_path, "    checks:\n" + checks))
    assert [r.passed for r in results] == [True, True, True, False, False]


def test_only_selects_tests_by_name(tmp_path: Path) -> None:
    text = (EXAMPLES / "alerts.test.yaml").read_text()
    shutil.copy(EXAMPLES / "alerts.yaml", tmp_path / "alerts.yaml")
    path = write(tmp_path, text, "alerts.test.yaml")
    results = run_test_file(path, only=["rate limits"])
    assert {r.test for r in results} == {
        "rate limits fire a pattern rule and, with the error rate, a composite"
    }
    with pytest.raises(UsageError, match="no test name contains 'nothing'"):
        run_test_file(path, only=["nothing"])


# --- bad test files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (
            "rules: alerts.yaml\ntests:\n  - name: x\n    checks: [{at: 0m, alerts: []}]\n",
            1,
            "rule file .*alerts.yaml does not exist",
        ),
        (
            RULES + "tests:\n  - name: x\n    chekcs: []\n",
            14,
            "test 'x': unknown key 'chekcs'",
        ),
        (
            RULES + "tests:\n  - name: x\n    spans:\n"
            "      - {from: 0m, to: 5m, every: 10 seconds}\n"
            "    checks: [{at: 0m, alerts: []}]\n",
            16,
            "spans\\[0\\]: every '10 seconds' is not a duration",
        ),
        (
            RULES + "tests:\n  - name: x\n    spans:\n      - {at: 1m, modle: a}\n"
            "    checks: [{at: 0m, alerts: []}]\n",
            16,
            "spans\\[0\\]: unknown key 'modle'",
        ),
        (
            RULES + "tests:\n  - name: x\n    spans:\n      - {at: 1m, type: LLM}\n"
            "    checks: [{at: 0m, alerts: []}]\n",
            16,
            "type 'LLM' is not one of llm",
        ),
        (
            RULES + "tests:\n  - name: x\n    checks:\n      - {at: 90s, alerts: []}\n",
            16,
            "at '90s' is not an evaluation time",
        ),
        (
            RULES + "tests:\n  - name: x\n    checks:\n"
            "      - at: 1m\n        alerts:\n          - {alertname: HighErorRate}\n",
            18,
            "alertname 'HighErorRate' is not an alert of the rule file",
        ),
        (
            RULES + "tests:\n  - name: x\n    checks:\n"
            "      - at: 1m\n        alerts:\n"
            "          - {alertname: HighErrorRate, state: resolved}\n",
            18,
            "state 'resolved': use firing or pending",
        ),
        (
            RULES + "tests:\n  - name: x\n    checks:\n      - {at: 1m}\n",
            16,
            "alerts must be a list",
        ),
        (RULES + "tests: []\n", 1, "tests must be a non-empty list"),
        (RULES + "tests:\n  - name: x\n    checks: [\n", 16, "invalid YAML"),
        (
            RULES.replace("window: 5m", "window: soon") + "tests:\n  - name: x\n",
            5,
            "alert 'HighErrorRate': window 'soon' is not a duration",
        ),
    ],
)
def test_bad_test_files_name_file_and_line(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError, match=f"^{path}:{line}: .*{reason}") as error:
        run_test_file(path)
    assert error.value.exit_code == 2


def test_a_missing_test_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"test file .* does not exist"):
        run_test_file(tmp_path / "nope.yaml")


def test_drift_and_budget_alerts_cannot_be_expected(tmp_path: Path) -> None:
    text = """\
rules:
  groups:
    - name: g
      rules:
        - {alert: Drifted, drift: {model: gpt-4o}}
        - {alert: Over, budget: {name: monthly}}
        - {alert: Both, all: [Drifted, Over]}
        - {alert: Busy, threshold: {aggregate: count, op: ">", value: 0}}
tests:
  - name: x
    spans: [{at: 30s}]
    checks:
      - {at: 1m, alerts: [{alertname: Busy}]}
      - at: 1m
        alerts:
          - {alertname: ALERT}
"""
    # the other rules are tested; drift and budget rules are not evaluated
    others = write(tmp_path, text.split("      - at: 1m\n")[0])
    assert [r.passed for r in run_test_file(others)] == [True]
    for name, why in (
        ("Drifted", "its drift condition needs a store"),
        ("Over", "its budget condition needs a store"),
        ("Both", "it depends on Drifted"),
    ):
        path = write(tmp_path, text.replace("ALERT", name))
        with pytest.raises(UsageError, match=f"{path}:16: .*alert {name} cannot be tested: {why}"):
            run_test_file(path)


def test_a_rule_over_fixture_spans(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    shutil.copy(FIXTURE_TRACE, fixtures / "trace.json")
    text = """\
rules:
  groups:
    - name: tools
      rules:
        - alert: ToolErrors
          pattern: {regex: "^TimeoutError", where: "type:tool", by: [tool]}
          window: 5m
          annotations: {summary: "{{ $labels.tool }}: {{ $value | round }} timeouts"}
tests:
  - name: the fixture trace's tool call times out
    spans:
      - {file: fixtures/trace.json, shift_to: 2m}
    checks:
      - {at: 2m, alerts: []}
      - at: 3m
        alerts:
          - alertname: ToolErrors
            labels: {tool: get_order, severity: warning}
            annotations: {summary: "get_order: 1 timeouts"}
      - {at: 8m, alerts: []}
"""
    results = run_test_file(write(tmp_path, text))
    assert [r.passed for r in results] == [True, True, True], "\n".join(report_lines(results))


# --- pending and determinism ----------------------------------------------------------------


def test_pending_alerts_are_compared_only_when_a_check_expects_one(tmp_path: Path) -> None:
    path = one_test(
        tmp_path,
        """\
    checks:
      - {at: 7m, alerts: []}
      - at: 7m
        alerts: [{alertname: HighErrorRate, state: pending, labels: {model: gpt-4o-mini}}]
      - at: 7m
        alerts: [{alertname: HighErrorRate, labels: {model: gpt-4o-mini}}]
""",
    )
    assert [r.passed for r in run_test_file(path)] == [True, True, False]


def test_results_are_the_same_every_time(tmp_path: Path, docs_results: list[CheckResult]) -> None:
    assert run_test_file(EXAMPLES / "alerts.test.yaml") == docs_results
    failing_file = one_test(tmp_path, "    checks:\n      - {at: 9m, alerts: []}\n")
    assert run_test_file(failing_file) == run_test_file(failing_file)


def test_evaluation_times_follow_start_and_interval(tmp_path: Path) -> None:
    text = RULES + (
        "start: 2026-03-01T12:00:00Z\n"
        "interval: 30s\n"
        "tests:\n"
        "  - name: incident\n" + SPANS + "    checks:\n"
        "      - at: 7m30s\n"
        "        alerts:\n"
        "          - {alertname: HighErrorRate, state: pending, labels: {model: gpt-4o-mini}}\n"
        "      - {at: 2026-03-01T12:09:00Z, alerts: "
        "[{alertname: HighErrorRate, labels: {model: gpt-4o-mini}}]}\n"
    )
    results = run_test_file(write(tmp_path, text))
    assert [r.passed for r in results] == [True, True], "\n".join(report_lines(results))
    assert results[0].time == datetime(2026, 3, 1, 12, 7, 30, tzinfo=UTC)
    assert results[1].at == "9m"


# --- eval conditions ------------------------------------------------------------------------

EVAL_TEST = """\
rules:
  groups:
    - name: quality
      rules:
        - alert: LowFaithfulness
          eval: {evaluator: faithfulness, op: "<", value: 0.7, by: [model]}
          window: 5m
          for: 2m
        - alert: NoToxicityScores
          eval: {evaluator: toxicity, op: ">", value: 0.5, no_data: alerting}
          window: 5m
tests:
  - name: faithfulness drops from 5m
    spans:
      # Phoenix's eval.<name>.* columns, as get_spans_dataframe exports them
      - {from: -5m, to: 20m, every: 30s, model: gpt-4o, type: llm,
         attributes: {eval.faithfulness.score: "0.9", eval.faithfulness.label: factual}}
      - {from: 5m, to: 20m, every: 30s, model: gpt-4o-mini, type: llm,
         attributes: [{eval.faithfulness.score: "0.2"}, {eval.faithfulness.score: "0.4"}]}
      - {from: 12m, to: 20m, every: 1m, model: gpt-4o, type: llm,
         attributes: {eval.toxicity.score: "0.1"}}
    checks:
      - at: 4m
        alerts:
          - {alertname: NoToxicityScores, labels: {evaluator: toxicity, no_data: "true"}}
      - at: 6m
        alerts:
          - {alertname: LowFaithfulness, state: pending,
             labels: {evaluator: faithfulness, model: gpt-4o-mini}}
          - {alertname: NoToxicityScores, labels: {evaluator: toxicity, no_data: "true"}}
      - at: 8m
        alerts:
          - {alertname: LowFaithfulness, labels: {evaluator: faithfulness, model: gpt-4o-mini},
             value: 0.3}
          - {alertname: NoToxicityScores, labels: {evaluator: toxicity, no_data: "true"}}
      - at: 14m
        alerts:
          - {alertname: LowFaithfulness, labels: {evaluator: faithfulness, model: gpt-4o-mini}}
"""


def test_eval_conditions_in_rule_tests(tmp_path: Path) -> None:
    results = run_test_file(write(tmp_path, EVAL_TEST))
    assert [r.diff for r in failing(results)] == []
    assert len(results) == 4
    # the same file expecting nothing at 8m fails with the faithfulness alert in its diff
    nothing_at_9m = "      - at: 9m\n        alerts: []\n      - at: 14m"
    wrong = EVAL_TEST.replace("      - at: 14m", nothing_at_9m)
    missed = failing(run_test_file(write(tmp_path, wrong, "wrong.test.yaml")))
    assert [r.at for r in missed] == ["9m"]
    assert any("LowFaithfulness" in line for line in missed[0].diff)


def test_an_eval_rule_without_scores_is_not_evaluated_in_rule_tests(tmp_path: Path) -> None:
    text = EVAL_TEST.replace(", no_data: alerting", "")
    results = run_test_file(write(tmp_path, text))
    # no_data: error keeps the rule's states (none) instead of stopping the test
    assert [r.at for r in failing(results)] == ["4m", "6m", "8m"]
