"""`pyflare rca` end to end: :func:`rca.analyse` on full canonical span frames.

A small synthetic incident: three spans per trace (gateway -> retriever "retrieve" -> the
retriever's LLM call). In the target hour, retriever 2.0 replaces 1.4 at 14:05 and its
gpt-4o-mini calls in eu-west-1 fail with rate-limit errors; everything else fails at 2%
with timeouts in both windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from pyflare_cli.analysis.rca.model import RcaReport, RcaSettings
from pyflare_cli.analysis.rca.report import analyse
from pyflare_cli.schema import POLARS_SCHEMA

BASELINE_START = datetime(2025, 3, 1, 13, 0, tzinfo=UTC)
TARGET_START = datetime(2025, 3, 1, 14, 0, tzinfo=UTC)
ROLLOUT = TARGET_START + timedelta(minutes=5)
RATE_LIMIT = (
    "Rate limit reached for gpt-4o-mini in organization org-{org} on requests per min: "
    "Limit {limit}, Used {used}, Requested 1"
)


def canonical(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """Canonical spans from partial rows: every other column null, maps and lists empty."""
    n = len(rows)
    empty = {
        "attributes": {},
        "resource_attributes": {},
        "events": [],
        "links": [],
        "kind": "internal",
        "status_code": "unset",
    }
    columns = {}
    for name, dtype in POLARS_SCHEMA.items():
        default = empty.get(name)
        values = [row.get(name, default) for row in rows]
        columns[name] = pl.Series(name, values, dtype=dtype, strict=False) if n else []
    frame = pl.DataFrame(columns, schema=POLARS_SCHEMA)
    duration = (pl.col("end_time") - pl.col("start_time")).dt.total_nanoseconds()
    return frame.with_columns(duration.cast(pl.Int64).alias("duration_ns"))


def traces(
    start: datetime,
    n: int,
    seed: int,
    prefix: str,
    incident: bool,
) -> pl.DataFrame:
    """``n`` traces over one hour (see the module docstring)."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        t0 = start + timedelta(seconds=3600 * i / n)
        region = "eu-west-1" if rng.random() < 0.4 else "us-east-1"
        model = "gpt-4o-mini" if rng.random() < 0.5 else "gpt-4o"
        version = "2.0" if incident and t0 >= ROLLOUT else "1.4"
        trace = f"{prefix}{i:05d}"
        resource = {"cloud.region": region}
        common = {"trace_id": trace, "resource_attributes": resource, "environment": "prod"}
        broken = incident and version == "2.0" and model == "gpt-4o-mini"
        broken = broken and region == "eu-west-1"
        failed = rng.random() < (0.35 if broken else 0.02)
        error: dict[str, Any] = {}
        if failed and broken:
            message = RATE_LIMIT.format(
                org=rng.integers(100, 999), limit=500, used=500 + int(rng.integers(1, 90))
            )
            error = {"status_code": "error", "error_type": "RateLimitError"}
            error["error_message"] = message
        elif failed:
            message = f"upstream timed out after {int(rng.integers(20, 40))}s"
            error = {"status_code": "error", "error_type": "TimeoutError"}
            error["error_message"] = message
        rows.append(
            {
                **common,
                "span_id": f"{trace}-1",
                "name": "POST /chat",
                "kind": "server",
                "service_name": "gateway",
                "service_version": "3.1",
                "start_time": t0,
                "end_time": t0 + timedelta(milliseconds=900),
            }
        )
        rows.append(
            {
                **common,
                "span_id": f"{trace}-2",
                "parent_span_id": f"{trace}-1",
                "name": "retrieve",
                "service_name": "retriever",
                "service_version": version,
                "ai_kind": "retriever",
                "start_time": t0 + timedelta(milliseconds=10),
                "end_time": t0 + timedelta(milliseconds=200),
            }
        )
        rows.append(
            {
                **common,
                **error,
                "span_id": f"{trace}-3",
                "parent_span_id": f"{trace}-2",
                "name": "chat",
                "kind": "client",
                "service_name": "retriever",
                "service_version": version,
                "ai_kind": "llm",
                "provider": "openai",
                "model": model,
                "start_time": t0 + timedelta(milliseconds=50),
                "end_time": t0 + timedelta(milliseconds=190),
            }
        )
    return canonical(rows)


N = 1500


@pytest.fixture(scope="module")
def report() -> RcaReport:
    target = traces(TARGET_START, N, seed=1, prefix="t", incident=True)
    baseline = traces(BASELINE_START, N, seed=2, prefix="b", incident=False)
    return analyse(target, baseline, RcaSettings())


def test_canonical_helper_fills_every_column() -> None:
    frame = traces(TARGET_START, 3, seed=0, prefix="x", incident=False)
    assert frame.schema == pl.Schema(POLARS_SCHEMA)
    assert frame.height == 9
    assert frame["duration_ns"].to_list()[:3] == [900_000_000, 190_000_000, 140_000_000]
    assert frame["attributes"].null_count() == 0


def test_dimensions_and_totals(report: RcaReport) -> None:
    for name in ("version", "model", "resource.cloud.region", "operation", "service"):
        assert name in report.dimensions
    assert "environment" not in report.dimensions  # a single value is no dimension
    assert report.totals.n_target == report.totals.n_baseline == 3 * N
    assert report.totals.mean_target > report.totals.mean_baseline
    assert report.tested > 0 and report.slices.height > 0


def test_the_new_version_is_the_first_cause(report: RcaReport) -> None:
    cause = report.causes[0]
    assert cause.title.startswith("errors rose in version = retriever 2.0 and model = gpt-4o-mini")
    assert "resource.cloud.region = eu-west-1" in cause.title
    assert cause.title.endswith("retriever 2.0 appeared at 2025-03-01 14:05 UTC")
    assert cause.next_step == "roll back retriever 2.0, or compare it with the version it replaced"
    change = report.changes.row(0, named=True)
    assert (change["dimension"], change["value"]) == ("version", "retriever 2.0")
    assert change["first_seen"] >= ROLLOUT
    assert change["first_seen"] < ROLLOUT + timedelta(seconds=3)
    assert change["seen_before"] is None


def test_the_first_cause_cites_the_crossed_slice_and_the_template(report: RcaReport) -> None:
    cause = report.causes[0]
    lead = report.significant.row(0, named=True)
    conditions = set(lead["conditions"])
    # The crossed slice: the new version's mini calls in the region.
    assert conditions == {
        "version = retriever 2.0",
        "model = gpt-4o-mini",
        "resource.cloud.region = eu-west-1",
    }
    assert lead["metric_target"] > 0.25 and lead["metric_reference"] < 0.05
    # A new slice is compared with the baseline of the rows it replaced: the mini calls of
    # the retriever in the region before the deploy.
    assert lead["compared_with"] == "parent baseline"
    template = report.clusters.row(0, named=True)
    assert template["template"].startswith("RateLimitError: Rate limit reached for gpt-4o-mini")
    assert "<NUM>" in template["template"]
    assert template["baseline_count"] == 0
    assert f"failing with `{template['template']}` ({template['count']:,}x)" in cause.evidence


def test_the_first_cause_links_failing_traces_of_the_new_version(report: RcaReport) -> None:
    traces_ = report.causes[0].traces
    assert 1 <= len(traces_) <= 3
    assert all(t.startswith("t") for t in traces_)
    assert report.clusters.row(0, named=True)["examples"]


def test_the_template_concentrates_where_the_slice_is(report: RcaReport) -> None:
    template = report.clusters.row(0, named=True)
    places = {c.rsplit(" (", 1)[0] for c in template["concentrated_in"]}
    assert "model = gpt-4o-mini (100%)" in template["concentrated_in"]
    assert places & set(report.significant.row(0, named=True)["conditions"])


def test_no_latency_attribution_for_errors(report: RcaReport) -> None:
    assert report.latency.height == 0
    assert (report.slow_traces, report.slow_threshold_ms) == (0, 0.0)


def test_identical_windows_have_no_causes() -> None:
    target = traces(TARGET_START, 600, seed=3, prefix="t", incident=False)
    baseline = target.with_columns(
        pl.col("start_time") - timedelta(hours=1),
        pl.col("end_time") - timedelta(hours=1),
        (pl.lit("b") + pl.col("trace_id")).alias("trace_id"),
        (pl.lit("b") + pl.col("span_id")).alias("span_id"),
        (pl.lit("b") + pl.col("parent_span_id")).alias("parent_span_id"),
    )
    report = analyse(target, baseline, RcaSettings())
    assert report.slices.height > 0
    assert report.significant.height == 0
    assert not report.slices["significant"].any()
    assert report.changes.height == 0
    assert report.clusters.height > 0  # the timeouts, as often as before
    assert (report.clusters["count"] == report.clusters["baseline_count"]).all()
    assert report.causes == []


def test_same_distribution_has_no_causes_from_slices() -> None:
    target = traces(TARGET_START, N, seed=5, prefix="t", incident=False)
    baseline = traces(BASELINE_START, N, seed=6, prefix="b", incident=False)
    report = analyse(target, baseline, RcaSettings())
    slices = set(report.slices["slice"].to_list())
    assert report.slices.height > 0
    assert not [c.title for c in report.causes if c.title in slices]
    assert report.changes.height == 0
