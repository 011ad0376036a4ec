"""``pyflare alert check`` on DuckDB and ClickHouse (chdb) gives Polars' samples and states.

The rules cover every aggregate (count, rate, error_rate, sum, avg, min, max, quantile),
every windowed condition (threshold, change, anomaly), patterns, labels from columns and
attributes, and ``where`` with span, trace-level and priced terms. Values must be equal
to the bit, except sums and means of floats (the engines add in another order: 1e-9).
"""

from __future__ import annotations

import json
import math
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from cli_support import invoke

from pyflare_cli.alerting.check import _texts, evaluate_all, load_window, lookback
from pyflare_cli.alerting.engine.evaluate import Sample
from pyflare_cli.alerting.on_engine import evaluate_on_engine
from pyflare_cli.alerting.rules.model import Rule
from pyflare_cli.alerting.rules.parse import load_rules
from pyflare_cli.engine.base import SqlEngine
from pyflare_cli.engine.clickhouse_engine import ChdbRunner, ClickHouseEngine, ClickHouseSource
from pyflare_cli.engine.duckdb_engine import DuckDBEngine
from pyflare_cli.store.scan import scan_spans
from tests.conftest import canonical_spans, commit_spans

_RULES = [
    ("ErrorRateByModel", "threshold", "aggregate: error_rate, where: 'type:llm', by: [model], "
     "op: '>', value: 0.01", "72h"),
    ("P99ByService", "threshold", "aggregate: quantile, field: duration, quantile: 0.99, "
     "by: [service], op: '>', value: 2000", "72h"),
    ("MedianTokensByProvider", "threshold", "aggregate: quantile, field: total_tokens, "
     "quantile: 0.5, by: [provider], op: '>', value: 100", "48h"),
    ("CostByModel", "threshold", "aggregate: sum, field: cost, by: [model], op: '>', "
     "value: 0.5", "72h"),
    ("RateByOperation", "threshold", "aggregate: rate, by: [operation], op: '<', value: 0.05",
     "72h"),
    ("ErrorsDoubled", "change", "aggregate: count, where: 'status:error', by: [service], "
     "compare: ratio, op: '>=', value: 2", "36h"),
    ("LatencyAnomaly", "anomaly", "aggregate: avg, field: duration, by: [model], windows: 12, "
     "method: mad, k: 3", "6h"),
    ("StddevAnomaly", "anomaly", "aggregate: count, by: [type], windows: 8, method: stddev, "
     "k: 2, direction: both", "3h"),
    ("Timeouts", "pattern", "regex: '(?i)rate limit|timeout', min_count: 1, by: [service]",
     "72h"),
    ("MaxInputOfFailingTraces", "threshold", "aggregate: max, field: input_tokens, "
     "where: 'trace.errors:>=1 -provider:openai', by: [model, user], op: '>', value: 500", "72h"),
    ("MinOutputByAttribute", "threshold", "aggregate: min, field: output_tokens, "
     "by: [attr.gen_ai.request.model], op: '<', value: 10", "72h"),
    ("ExpensiveCalls", "threshold", "aggregate: count, where: 'cost:>0.001 OR trace.cost:>0.05', "
     "by: [environment, agent], op: '>', value: 3", "72h"),
    ("P90OfAnAttribute", "threshold", "aggregate: quantile, field: attr.server.port, "
     "quantile: 0.9, op: '>', value: 1", "72h"),
    ("SlowToolCalls", "threshold", "aggregate: avg, field: duration, "
     "where: 'type:tool duration:>10ms', by: [tool, status], op: '>', value: 50", "72h"),
    ("MedianCallCost", "threshold", "aggregate: quantile, field: cost, quantile: 0.5, "
     "by: [resource.service.name], op: '>', value: 0", "72h"),
    ("ErrorsOfBigTraces", "pattern", "regex: '(?i)error|limit', min_count: 1, "
     "by: [attr.gen_ai.request.model, model], where: 'trace.spans:>3 OR cost:>0'", "72h"),
    ("AnyTemplate", "pattern", "template: '*', min_count: 2, by: [resource.service.name]",
     "48h"),
]  # fmt: skip
RULES = "groups:\n  - name: engines\n    rules:\n" + "".join(
    f"      - alert: {name}\n        {kind}: {{{body}}}\n        window: {window}\n"
    for name, kind, body, window in _RULES
)
INEXACT = ("sum", "avg")
"""Float sums and means: the engines add in another order than Polars (equal to 1e-9)."""


def _aggregate(rule: Rule) -> str:
    measure = getattr(rule.condition, "measure", None)
    return str(measure.aggregate) if measure is not None else ""


def engines(root: Path) -> list[SqlEngine]:
    return [DuckDBEngine(root), ClickHouseEngine(ChdbRunner(), ClickHouseSource(root=root))]


def _now(root: Path) -> datetime:
    last = scan_spans(root).select(pl.col("start_time").max()).collect().item()
    return (last + timedelta(seconds=1)).astimezone(UTC)


def _sorted(samples: list[Sample]) -> list[Sample]:
    return sorted(samples, key=lambda s: sorted(s.labels.items()))


def assert_same_samples(
    want: dict[str, list[Sample]], got: dict[str, list[Sample]], inexact: set[str], where: str
) -> None:
    assert want.keys() == got.keys(), where
    for name in want:
        a, b = _sorted(want[name]), _sorted(got[name])
        assert [s.labels for s in a] == [s.labels for s in b], f"{where} {name}"
        assert [s.active for s in a] == [s.active for s in b], f"{where} {name}"
        for x, y in zip(a, b, strict=True):
            if x.value is None or y.value is None or name not in inexact:
                same = x.value == y.value or (
                    x.value is not None and y.value is not None
                    and math.isnan(x.value) and math.isnan(y.value)
                )  # fmt: skip
                assert same, f"{where} {name} {x.labels}: {x.value!r} != {y.value!r}"
            else:
                assert math.isclose(x.value, y.value, rel_tol=1e-9), f"{where} {name}"


def _evaluate(root: Path, rules_path: Path) -> None:
    rules = load_rules(rules_path).rules
    now = _now(root)
    inexact = {r.name for r in rules if _aggregate(r) in INEXACT}
    spans = load_window(root, rules, now, ())
    want, errors = evaluate_all(root, rules, spans, now)
    assert not errors
    assert sum(len(v) for v in want.values()) > len(rules), "the reference found little"
    priced = "cost" in _texts(rules)
    for engine in engines(root):
        try:
            got, errs, count = evaluate_on_engine(engine, rules, now - lookback(rules), now, priced)
        finally:
            engine.close()
        assert not errs and count == spans.height
        assert_same_samples(want, got, inexact, engine.name)


def test_every_aggregate_and_condition_matches_polars(store20k: Path, tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(RULES)
    _evaluate(store20k, path)


def test_rules_folded_into_one_group_by_match_polars(
    store20k: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one-GROUP-BY form Spark uses (``measures_sql.folded``), run on DuckDB and chdb:
    the same samples as Polars (rules with trace-level ``where`` stay branches)."""
    from pyflare_cli.engine import alerts

    monkeypatch.setattr(alerts, "FOLD_ON", frozenset({"duckdb", "clickhouse"}))
    path = tmp_path / "alerts.yaml"
    path.write_text(RULES)
    _evaluate(store20k, path)


def test_quantiles_equal_polars_to_the_bit(tmp_path: Path) -> None:
    """Quantiles of random durations (heavy tails, ties, single values, two values) in many
    groups: the order statistics and Polars' interpolation give Polars' value exactly."""
    root = tmp_path / "store"
    rng = np.random.default_rng(7)
    start = datetime(2026, 11, 20, tzinfo=UTC)
    rows = []
    for i in range(3000):
        group = int(rng.integers(0, 40))
        if group < 3 and any(r["service_name"] == f"s{group}" for r in rows):
            continue  # groups of a single span
        ms = float(rng.lognormal(3, 1.5)) if group % 7 else float(rng.integers(1, 4))
        rows.append(
            {
                "span_id": f"q{i}",
                "start_time": start + timedelta(seconds=i * 20),
                "ms": ms,
                "service_name": f"s{group}",
            }
        )
    commit_spans(root, canonical_spans(rows), "quantiles")
    lines = ["groups:", "  - name: q", "    rules:"]
    for k, q in enumerate((0.5, 0.9, 0.99, 0.1, 0.37, 0.001, 0.999)):
        lines += [
            f"      - alert: Q{k}",
            "        threshold: {aggregate: quantile, field: duration, "
            f"quantile: {q}, by: [service], op: '>', value: 20}}",
            "        window: 2h",
            f"      - alert: R{k}",
            "        anomaly: {aggregate: quantile, field: duration, "
            f"quantile: {q}, windows: 6, method: mad, k: 2}}",
            "        window: 1h",
        ]
    path = tmp_path / "q.yaml"
    path.write_text("\n".join(lines) + "\n")
    _evaluate(root, path)


def _check(store: Path, rules: Path, now: datetime, *engine: str) -> object:
    result = invoke(
        *("alert", "check", "--rules", str(rules), "--store", str(store), "--no-notify"),
        *("--at", now.isoformat(), "--format", "json", *engine),
    )
    assert result.exit_code in (0, 1), result.output + result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_alert_check_command_on_an_engine(store20k: Path, tmp_path: Path, engine: str) -> None:
    """The whole command, twice (the states move from pending on): the same verdict on
    the engine as on Polars, each on its own copy of the store (states live there)."""
    rules = tmp_path / "alerts.yaml"
    rules.write_text(RULES.replace("    rules:\n", "    rules:\n", 1))
    now = _now(store20k)
    copies = {}
    for name in ("polars", engine):
        copies[name] = tmp_path / name
        shutil.copytree(store20k, copies[name])
    for at in (now, now + timedelta(minutes=10)):
        want = _check(copies["polars"], rules, at)
        got = _check(copies[engine], rules, at, "--engine", engine)
        assert _comparable(got) == _comparable(want)


def _comparable(verdict: object) -> object:
    """The verdict with float values rounded to 9 significant digits (sums, means)."""
    if isinstance(verdict, float):
        return float(f"{verdict:.9g}")
    if isinstance(verdict, dict):
        return {k: _comparable(v) for k, v in verdict.items()}
    if isinstance(verdict, list):
        return [_comparable(v) for v in verdict]
    return verdict


@pytest.mark.parametrize(
    ("condition", "kind"),
    [
        ("drift: {model: gpt-4o}", "drift"),
        ("budget: {name: monthly}", "budget"),
        ("eval: {evaluator: faithfulness, aggregate: mean, op: '<', value: 0.5}", "eval"),
    ],
)
def test_rules_that_read_more_than_spans_are_exit_2(
    store20k: Path, tmp_path: Path, condition: str, kind: str
) -> None:
    rules = tmp_path / "alerts.yaml"
    rules.write_text(
        f"groups:\n  - name: g\n    rules:\n      - alert: OffEngine\n        {condition}\n"
        "        window: 1h\n"
    )
    config = tmp_path / "pyflare.yaml"
    config.write_text("budgets:\n  - name: monthly\n    limit_usd: 10\n    period: month\n")
    store = tmp_path / "store"
    shutil.copytree(store20k, store)
    result = invoke(
        *("alert", "check", "--rules", str(rules), "--store", str(store), "--no-notify"),
        *("--config", str(config), "--engine", "duckdb"),
    )
    assert result.exit_code == 2, result.output + result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert f"alert rule 'OffEngine' ({kind} condition) does not run on --engine duckdb" in line


def test_a_rules_where_the_engine_cannot_run_names_the_rule(store20k: Path, tmp_path: Path) -> None:
    """An ``eval.`` term in a windowed rule's ``where`` is refused naming the rule and its
    where, not a ``--where`` option the user never gave."""
    rules = tmp_path / "alerts.yaml"
    rules.write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: JudgedSlow\n"
        "        threshold: {aggregate: count, where: 'eval.judge:<0.5', op: '>', value: 1}\n"
        "        window: 1h\n"
    )
    store = tmp_path / "store"
    shutil.copytree(store20k, store)
    result = invoke(
        *("alert", "check", "--rules", str(rules), "--store", str(store), "--no-notify"),
        *("--engine", "duckdb"),
    )
    assert result.exit_code == 2, result.output + result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "alert rule 'JudgedSlow': where term 'eval.judge'" in line, line
    assert "--where" not in line.split("use --engine")[0], line


@pytest.mark.spark
def test_alert_measures_on_spark_connect(
    store20k: Path, spark_connect: str, tmp_path: Path
) -> None:
    from pyflare_cli.engine.spark_engine import SparkEngine

    path = tmp_path / "alerts.yaml"
    path.write_text(RULES)
    rules = load_rules(path).rules
    now = _now(store20k)
    spans = load_window(store20k, rules, now, ())
    want, _ = evaluate_all(store20k, rules, spans, now)
    inexact = {r.name for r in rules if _aggregate(r) in INEXACT}
    engine = SparkEngine(store20k, spark_connect)
    try:
        got, _, count = evaluate_on_engine(engine, rules, now - lookback(rules), now, True)
    finally:
        engine.close()
    assert count == spans.height
    assert_same_samples(want, got, inexact, "spark")


def test_alert_watch_keeps_one_engine_session(store20k: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(store20k, store)
    rules = tmp_path / "alerts.yaml"
    rules.write_text(RULES)
    result = invoke(
        *("alert", "watch", "--rules", str(rules), "--store", str(store), "--max-runs", "2"),
        *("--interval", "1s", "--no-notify", "--engine", "duckdb"),
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "stopped after 2 evaluation(s)" in result.stdout
    assert "firing" in result.stdout  # the first evaluation's changes are printed


def test_a_clickhouse_url_cannot_hold_alert_states(tmp_path: Path) -> None:
    rules = tmp_path / "alerts.yaml"
    rules.write_text(RULES)
    result = invoke(
        *("alert", "check", "--rules", str(rules), "--no-notify"),
        *("--store", "clickhouse://localhost:8123/otel?table=otel_traces"),
    )
    assert result.exit_code == 2, result.output
    assert "alert states need a store folder" in result.stderr
