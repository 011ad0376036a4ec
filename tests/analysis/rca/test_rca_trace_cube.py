"""``--unit trace`` reads the trace cube, not a row frame, and answers as the rows did.

The reference is the row-frame path rca used before: :func:`units.compact` rows (a row per
span carrying its trace's value) read by the per-trace passes and :class:`rows.FrameRows`.
Checked on generated windows with an incident (errors propagated to parents; a slower
tool), for every metric the unit serves: the counting passes, the slice search and the
whole report.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.rca import report as report_module
from pyflare_cli.analysis.rca import units
from pyflare_cli.analysis.rca.dimensions import Dimension, discover
from pyflare_cli.analysis.rca.model import RcaSettings
from pyflare_cli.analysis.rca.passes import (
    TERMS,
    crossing_counts,
    membership_counts,
    single_counts,
    slice_counts,
)
from pyflare_cli.analysis.rca.report import analyse, report_of
from pyflare_cli.analysis.rca.rows import FrameRows
from pyflare_cli.analysis.rca.scan import scan_cube
from pyflare_cli.analysis.rca.trace_cube import trace_cube
from pyflare_cli.analysis.rca.units import compact, unit_metric, unit_rows, windows
from pyflare_cli.render.rca_report import payload
from tests.analysis.rca.rca_world import ErrorIncident, LatencyIncident, pair

CASES = [
    ("errors", ErrorIncident(rate=0.3)),
    ("latency", LatencyIncident()),
    ("cost", ErrorIncident()),
]
SUMS = [t for t in TERMS if t != "members"]
"""``members`` hashes other ids in each (a trace's hash, not its categorical's)."""


def _windows(metric: str, incident: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    target, baseline = pair(5, 500, incident)
    if metric == "cost":  # unpriced windows: give every span a cost to explain
        cost = (pl.col("duration_ns") % 997).cast(pl.Float64) / 1e5
        target, baseline = (w.with_columns(cost.alias("cost_usd")) for w in (target, baseline))
    return target, baseline


def _frames(metric: str, incident: Any) -> tuple[list[Dimension], pl.LazyFrame, pl.LazyFrame]:
    """The dimensions, the trace cube and the reference row frame."""
    target, baseline = _windows(metric, incident)
    dimensions = discover(pl.concat([target, baseline]))
    spans = windows(target.lazy(), baseline.lazy())
    source = unit_metric(spans, metric, "trace")
    assert not isinstance(source, pl.Expr)
    found, _ = scan_cube(spans, dimensions, metric, source, False)
    cube = trace_cube(spans, dimensions, metric, found, source[0])
    names = [d.name for d in dimensions]
    rows = compact(unit_rows(spans, dimensions, metric, source), names, True)
    return dimensions, cube, rows


def _same(got: pl.DataFrame, want: pl.DataFrame, keys: list[str]) -> None:
    assert got.height == want.height > 0
    assert_frame_equal(
        got.select(*keys, *SUMS).sort(keys),
        want.select(*keys, *SUMS).sort(keys),
        check_exact=False,
        rel_tol=1e-12,
        check_dtypes=False,
    )


@pytest.mark.parametrize(("metric", "incident"), CASES)
def test_every_pass_counts_the_traces_the_rows_count(metric: str, incident: Any) -> None:
    dimensions, cube, rows = _frames(metric, incident)
    names = [d.name for d in dimensions]
    assert cube.select(pl.len()).collect().item() < rows.select(pl.len()).collect().item()
    keys = ["dimension", "value"]
    _same(single_counts(cube, names, True), single_counts(rows, names, True), keys)
    seeds = [
        [("model", "gpt-4o-mini")],
        [("resource.cloud.region", "eu-west-1"), ("type", "llm")],
        [("tool", "get_order")],
    ]
    crossed = [crossing_counts(f, seeds, names, True) for f in (cube, rows)]
    _same(*crossed, ["seed", *keys])
    _same(*(membership_counts(f, seeds, True) for f in (cube, rows)), ["mask"])
    _same(*(slice_counts(f, seeds, True) for f in (cube, rows)), ["seed"])


def _reference(target: pl.DataFrame, baseline: pl.DataFrame, settings: RcaSettings) -> Any:
    """The report as rca made it from a row frame (before the trace cube)."""
    lazy = target.lazy(), baseline.lazy()
    dimensions = report_module.dimensions_of(pl.concat([target, baseline]), settings)
    spans = windows(*lazy)
    source = unit_metric(spans, settings.metric, settings.unit)
    names = [d.name for d in dimensions]
    frame = compact(unit_rows(spans, dimensions, settings.metric, source), names, True)
    rows = FrameRows(spans, frame, None, "trace", settings.metric == "errors", True)
    return report_of(frame, dimensions, settings, rows, lazy)


@pytest.mark.parametrize(("metric", "incident"), CASES[:2])
def test_the_report_reads_no_row_frame_and_is_the_row_frames(
    metric: str, incident: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, baseline = _windows(metric, incident)
    settings = RcaSettings(metric=metric, unit="trace")
    want = payload(_reference(target, baseline, settings), "t", "b")

    def row_frame(*_: object, **__: object) -> None:
        raise AssertionError("--unit trace read a row frame")

    monkeypatch.setattr(units, "compact", row_frame)
    monkeypatch.setattr(report_module, "compact", row_frame, raising=False)
    got = payload(analyse(target, baseline, settings), "t", "b")
    assert got["causes"], "the incident is found"
    if metric == "errors":
        assert got == want
    else:  # sums in another order: equal to rounding
        assert got["causes"] == want["causes"]
        assert got.keys() == want.keys()
        assert len(got["slices"]) == len(want["slices"])
        for a, b in zip(got["slices"], want["slices"], strict=True):
            assert a["slice"] == b["slice"]
            assert a["excess"] == pytest.approx(b["excess"], rel=1e-9)
