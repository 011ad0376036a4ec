"""``alert check`` with ``eval:`` conditions over a store written by the real OpenTelemetry SDK.

The spans carry OTel GenAI ``gen_ai.evaluation.result`` events (as an instrumented app's
evaluation hook sends them), ingested from the SDK's own OTLP protobuf encoding; pyflare's
own ``eval run pii`` results are stored beside them. The rule's value must be the one
``pyflare eval summary`` shows (one definition of the scores), and an evaluator without
scores must never pass.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_support import NOW, invoke
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

AT = datetime.fromisoformat(NOW)
MEANS = {"gpt-4o": 0.9, "claude-sonnet-4": 0.45}
CALLS = 30


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1e9)


def _write_spans(path: Path) -> dict[str, list[float]]:
    """LLM calls of two models over the last 50 minutes, each graded by a faithfulness
    event; every third prompt holds an email. Returns the scores written, per model."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "rag-api"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("eval-test")
    rng = random.Random(7)
    written: dict[str, list[float]] = {m: [] for m in MEANS}
    for i in range(CALLS * len(MEANS)):
        model = list(MEANS)[i % len(MEANS)]
        start = AT - timedelta(minutes=50) + timedelta(seconds=90 * i // len(MEANS))
        prompt = "mail me at ana@example.com" if i % 3 == 0 else "what is the refund policy?"
        span = tracer.start_span(
            "chat " + model,
            start_time=_ns(start),
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "openai",
                "gen_ai.request.model": model,
                "input.value": prompt,
            },
        )
        score = round(min(1.0, max(0.0, rng.gauss(MEANS[model], 0.05))), 4)
        written[model].append(score)
        span.add_event(
            "gen_ai.evaluation.result",
            {
                "gen_ai.evaluation.name": "faithfulness",
                "gen_ai.evaluation.score.value": score,
                "gen_ai.evaluation.score.label": "pass" if score >= 0.7 else "fail",
            },
            timestamp=_ns(start + timedelta(seconds=2)),
        )
        span.end(end_time=_ns(start + timedelta(seconds=1)))
    path.write_bytes(encode_spans(exporter.get_finished_spans()).SerializeToString())
    return written


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[float]]]:
    folder = tmp_path_factory.mktemp("alert_eval")
    written = _write_spans(folder / "spans.pb")
    store = folder / ".pyflare"
    result = invoke("ingest", str(folder / "spans.pb"), "--store", str(store))
    assert result.exit_code == 0, result.output
    result = invoke("eval", "run", "pii", "--since", "2h", "--store", str(store))
    assert result.exit_code == 0, result.output
    return store, written


def _rules(tmp_path: Path, *rules: str) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text("groups:\n  - name: quality\n    rules:\n" + "".join(rules))
    return path


def _check(store: Path, rules: Path, *more: str) -> Any:
    return invoke(
        "alert", "check", "--rules", str(rules), "--store", str(store), "--at", NOW, *more
    )


def _copy(store: Path, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    return copy


LOW_FAITHFULNESS = """\
      - alert: LowFaithfulness
        eval: {evaluator: faithfulness, op: "<", value: 0.8, by: [model]}
        window: 1h
"""


def test_mean_per_model_fires_for_the_weak_model_only(
    scored: tuple[Path, dict[str, list[float]]], tmp_path: Path
) -> None:
    store, written = scored
    store = _copy(store, tmp_path)
    result = _check(store, _rules(tmp_path, LOW_FAITHFULNESS), "--format", "json")
    assert result.exit_code == 1, result.output
    verdict = json.loads(result.stdout)
    firing = [a for a in verdict["alerts"] if a["state"] == "firing"]
    assert [a["labels"]["model"] for a in firing] == ["claude-sonnet-4"]
    assert firing[0]["labels"]["evaluator"] == "faithfulness"
    expected = sum(written["claude-sonnet-4"]) / CALLS
    assert firing[0]["value"] == pytest.approx(expected)
    # the same number as `eval summary` (one definition of the scores)
    summary = invoke(
        "eval", "summary", "--since", "1h", "--by", "model", "--store", str(store), "-f", "json"
    )
    rows = json.loads(summary.stdout)
    means = {r["model"]: r["mean"] for r in rows if r["evaluator"] == "faithfulness"}
    assert means["claude-sonnet-4"] == pytest.approx(firing[0]["value"])
    assert means["gpt-4o"] >= 0.8


def test_pass_rate_and_own_results(
    scored: tuple[Path, dict[str, list[float]]], tmp_path: Path
) -> None:
    store, written = scored
    rules = _rules(
        tmp_path,
        """\
      - alert: FaithfulnessPassRate
        eval: {evaluator: faithfulness, aggregate: pass_rate, pass_min: 0.7, op: "<", value: 0.9}
        window: 1h
      - alert: PiiSeen
        eval: {evaluator: pii, aggregate: mean, op: ">", value: 0.2, where: "service:rag-api"}
        window: 1h
        severity: info
""",
    )
    result = _check(_copy(store, tmp_path), rules, "--format", "json")
    assert result.exit_code == 1, result.output
    firing = {a["alertname"]: a for a in json.loads(result.stdout)["alerts"]}
    scores = [s for model in written.values() for s in model]
    assert firing["FaithfulnessPassRate"]["value"] == pytest.approx(
        sum(s >= 0.7 for s in scores) / len(scores)
    )
    assert firing["PiiSeen"]["value"] == pytest.approx(1 / 3, abs=0.02)  # every third prompt


def test_no_scores_fails_closed(
    scored: tuple[Path, dict[str, list[float]]], tmp_path: Path
) -> None:
    store = _copy(scored[0], tmp_path)
    rules = _rules(
        tmp_path,
        """\
      - alert: Toxicity
        eval: {evaluator: toxicity, op: ">", value: 0.1}
        window: 1h
""",
    )
    result = _check(store, rules, "--format", "json")
    assert result.exit_code == 2, result.output
    check = json.loads(result.stdout)["checks"][0]
    assert check["passed"] is False and "no data" in check["detail"]
    assert "alert Toxicity not evaluated: no data: 0 scored result(s)" in result.stderr
    assert "not evaluated: Toxicity" in result.stderr.splitlines()[-1]
    # too few results is no data too; below --fail-severity it does not fail the gate
    few = _rules(
        tmp_path,
        """\
      - alert: FewScores
        eval: {evaluator: faithfulness, op: "<", value: 0.0, min_results: 1000}
        severity: info
""",
    )
    result = _check(store, few)
    assert result.exit_code == 0, result.output
    assert "min_results 1000" in result.stderr


def test_no_data_alerting_fires_an_alert(
    scored: tuple[Path, dict[str, list[float]]], tmp_path: Path
) -> None:
    rules = _rules(
        tmp_path,
        """\
      - alert: ToxicityMissing
        eval: {evaluator: toxicity, op: ">", value: 0.1, no_data: alerting}
        window: 30m
""",
    )
    result = _check(_copy(scored[0], tmp_path), rules, "--format", "json")
    assert result.exit_code == 1, result.output
    (alert,) = json.loads(result.stdout)["alerts"]
    assert alert["labels"]["no_data"] == "true" and alert["value"] is None


@pytest.mark.parametrize(
    ("section", "reason"),
    [
        ("{op: '<', value: 1}", "eval.evaluator must name an evaluator"),
        ("{evaluator: f, aggregate: median, op: '<', value: 1}", "eval.aggregate 'median'"),
        ("{evaluator: f, op: '<', value: 1, pass_min: 0.5}", "eval.pass_min only goes with"),
        ("{evaluator: f, aggregate: pass_rate, op: '<', value: 2}", "eval.value 2: a pass rate"),
        ("{evaluator: f, op: '<', value: 1, min_results: 0}", "eval.min_results must be"),
        ("{evaluator: f, op: '<', value: 1, no_data: ok}", "eval.no_data 'ok'"),
        ("{evaluator: f, op: '<', value: 1, where: 'eval.g:<0.5'}", "eval.where: an eval.<name>"),
        ("{evaluator: f, op: '<', value: 1, by: [colour]}", "by 'colour'"),
        ("{evaluator: f, op: '<', value: 1, windows: 3}", "eval: unknown key 'windows'"),
    ],
)
def test_bad_eval_conditions_exit_2_naming_the_line(
    section: str, reason: str, tmp_path: Path, scored: tuple[Path, dict[str, list[float]]]
) -> None:
    rules = _rules(tmp_path, f"      - alert: Bad\n        eval: {section}\n")
    result = invoke("alert", "rules", "--rules", str(rules))
    assert result.exit_code == 2, result.output
    assert f"{rules}:5: alert 'Bad': {reason}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
