"""``pyflare rca``: the demo's incident named first, formats, the gate, the errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_support import NOW, invoke

from pyflare_cli.demo.scenario import DEFAULT_WORLD

INCIDENTS = DEFAULT_WORLD.incidents


def _report(store: Path, *args: str) -> dict[str, Any]:
    result = invoke("rca", *args, "--store", str(store), "--format", "json")
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def test_the_demo_incident_is_ranked_first(incident_store: Path) -> None:
    report = _report(incident_store)
    first = report["causes"][0]
    assert "after rag-api 2.0.0 appeared" in first["title"] or (
        "rag-api 2.0.0 appeared" in first["title"]
    )
    text = first["title"] + " " + " ".join(first["evidence"])
    assert "gpt-4o-mini" in text and "eu-west-1" in text
    assert "Rate limit reached" in text
    assert "roll back rag-api 2.0.0" in first["next_step"]
    assert len(first["traces"]) >= 1 and all(len(t) == 32 for t in first["traces"])
    top = report["slices"][0]
    assert {"model = gpt-4o-mini", "resource.cloud.region = eu-west-1"} <= set(
        top["conditions"]
    ) or "version = rag-api 2.0.0" in top["conditions"]
    change = report["changes"][0]
    assert change["value"] == "rag-api 2.0.0"
    # The deploy is placed relative to the demo's end (PYFLARE_NOW), inside the last day.
    deploy = datetime.fromisoformat(NOW) - INCIDENTS.rag_deploy.before_end
    first_seen = datetime.fromisoformat(change["first_seen"])
    assert deploy <= first_seen < deploy + timedelta(hours=3)
    assert change["seen_before"] is None


def test_origin_is_the_default_unit_and_span_counts_every_error(incident_store: Path) -> None:
    origin = _report(incident_store)
    span = _report(incident_store, "--unit", "span")
    trace = _report(incident_store, "--unit", "trace")
    # Parents failed by their children are counted again with --unit span.
    assert span["target"]["mean"] > origin["target"]["mean"] > 0
    assert trace["target"]["spans"] < origin["target"]["spans"]  # traces, not spans


def test_example_trace_ids_open_with_trace_show(incident_store: Path) -> None:
    trace = _report(incident_store)["causes"][0]["traces"][0]
    shown = invoke("trace", "show", trace[:12], "--store", str(incident_store))
    assert shown.exit_code == 0, shown.output


def test_latency_names_the_operations_that_added_time(incident_store: Path) -> None:
    report = _report(incident_store, "--metric", "latency")
    assert report["latency"], "no latency attribution"
    added = {row["operation"]: row["added_ms"] for row in report["latency"]}
    assert max(added.values()) > 0


def test_vs_rest_and_span_filter(incident_store: Path) -> None:
    report = _report(
        incident_store,
        "--vs-rest",
        "--select",
        "resource.cloud.region:eu-west-1",
        "--span-filter",
        "type:llm",
    )
    assert report["target"]["label"].startswith("--select")
    assert report["baseline"]["spans"] > 0


def test_cost_is_priced_where_it_is_read(incident_store: Path) -> None:
    # Errors and latency skip pricing; the cost metric and a query naming cost price spans.
    cost = _report(incident_store, "--metric", "cost")
    assert cost["metric"] == "cost" and cost["target"]["mean"] > 0
    expensive = _report(incident_store, "--where", "cost:>0.001")
    assert 0 < expensive["target"]["spans"] < _report(incident_store)["target"]["spans"]
    filtered = _report(incident_store, "--span-filter", "cost:>0")
    assert filtered["target"]["spans"] > 0


PRICING_PROBE = """
import sys
from pyflare_cli.main import app
try:
    app(sys.argv[1:], prog_name="pyflare", standalone_mode=False)
except SystemExit:
    pass
print("priced" if "genai_prices" in sys.modules else "unpriced")
"""


def _pricing(store: Path, *args: str) -> str:
    """Whether ``pyflare rca ARGS`` priced spans: with the store's price cache cold, pricing
    imports genai-prices."""
    done = subprocess.run(
        [sys.executable, "-c", PRICING_PROBE, "rca", *args, "--store", str(store)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYFLARE_NOW": NOW},
        timeout=300,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def test_errors_and_latency_read_spans_unpriced(incident_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(incident_store, store, ignore=shutil.ignore_patterns(".cache", ".lock"))
    assert _pricing(store, "--format", "json") == "unpriced"
    assert _pricing(store, "--metric", "latency", "--format", "json") == "unpriced"
    assert _pricing(store, "--metric", "cost", "--format", "json") == "priced"  # the control


def test_table_and_markdown(incident_store: Path) -> None:
    table = invoke("rca", "--store", str(incident_store))
    assert table.exit_code == 0
    assert "Root causes" in table.stdout and "Failure clusters" in table.stdout
    assert "pyflare trace show ID" in table.stdout
    markdown = invoke("rca", "--store", str(incident_store), "--format", "markdown")
    assert markdown.stdout.startswith("**errors:") and "### Problematic slices" in markdown.stdout


def test_the_gate(incident_store: Path) -> None:
    failed = invoke("rca", "--fail-on-significant", "--store", str(incident_store))
    assert failed.exit_code == 1 and "significant slice" in failed.stderr
    # The window against itself: nothing can be significant, the gate passes.
    quiet = invoke(
        "rca",
        "--baseline-since",
        "24h",
        "--baseline-until",
        "now",
        "--fail-on-significant",
        "--store",
        str(incident_store),
    )
    assert quiet.exit_code == 0, quiet.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--metric", "mood"), "--metric 'mood'"),
        (("--vs-rest",), "--vs-rest and --select go together"),
        (("--correction", "holm"), "--correction 'holm'"),
        (("--unit", "call"), "--unit 'call'"),
        (("--dimension", "colour"), "--dimension 'colour'"),
        (("--format", "csv"), "--format csv"),
        (("--since", "2020-01-01", "--until", "2020-01-02"), "no spans in the target"),
        (
            ("--baseline-since", "2020-01-01", "--baseline-until", "2020-01-02"),
            "no spans in the baseline",
        ),
        (("--where", "model:"), "model"),
    ],
)
def test_errors_exit_2(incident_store: Path, args: tuple[str, ...], message: str) -> None:
    result = invoke("rca", *args, "--store", str(incident_store))
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_gating_on_span_units_warns(incident_store: Path) -> None:
    result = invoke(
        "rca", "--unit", "span", "--fail-on-significant", "--store", str(incident_store)
    )
    assert result.exit_code in (0, 1), result.output
    assert "warning: --unit span" in result.stderr


def test_the_demo_incident_is_found_at_a_late_hour(tmp_path: Path) -> None:
    """The deploy was once fixed at 14:05 of the day before the end: a demo made after
    14:05 put it in the baseline, and a plain `pyflare rca` never named it."""
    late = {"PYFLARE_NOW": "2026-11-20T23:40:00+00:00"}
    store = str(tmp_path / ".pyflare")
    made = invoke("demo", "--spans", "20000", "--days", "2", "--store", store, env=late)
    assert made.exit_code == 0, made.output
    result = invoke("rca", "--store", store, "--format", "json", env=late)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [c["value"] for c in report["changes"]][:1] == ["rag-api 2.0.0"]
    assert "rag-api 2.0.0" in report["causes"][0]["title"]
