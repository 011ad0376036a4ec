"""rca read straight from the scan answers exactly as the row frame did.

:func:`scan.scan_cube` (one grouped pass: the cube and the error rows) and
:class:`scan.ScanRows` (small queries over the target's unit rows) replace the compact row
frame for ``--unit origin`` and ``span``. Their reference is the row-frame path, kept for
``--unit trace``: :func:`passes.cube` of :func:`units.compact` rows and
:class:`rows.FrameRows`. Checked on generated windows with an incident (new version, errors
propagated to parents; a slower tool), every metric and unit they serve.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.rca.dimensions import Dimension, discover
from pyflare_cli.analysis.rca.passes import TERMS, cube
from pyflare_cli.analysis.rca.rows import FrameRows
from pyflare_cli.analysis.rca.scan import ScanRows, scan_cube, worst_traces
from pyflare_cli.analysis.rca.units import compact, unit_metric, unit_rows, windows
from tests.analysis.rca.rca_world import TARGET_START, ErrorIncident, LatencyIncident, pair

CASES = [
    ("errors", "origin", ErrorIncident(rate=0.3)),
    ("errors", "span", ErrorIncident(rate=0.3)),
    ("latency", "origin", LatencyIncident()),
    ("latency", "span", LatencyIncident()),
    ("cost", "origin", ErrorIncident()),
]


def _setup(
    metric: str, unit: str, incident: ErrorIncident | LatencyIncident
) -> tuple[list[Dimension], pl.LazyFrame, pl.LazyFrame, ScanRows, FrameRows]:
    target, baseline = pair(3, 600, incident)
    if metric == "cost":  # unpriced windows: give every span a cost to explain
        cost = (pl.col("duration_ns") % 997).cast(pl.Float64) / 1e5
        target, baseline = (w.with_columns(cost.alias("cost_usd")) for w in (target, baseline))
    dimensions = discover(pl.concat([target, baseline]))
    names = [d.name for d in dimensions]
    spans = windows(target.lazy(), baseline.lazy())
    source = unit_metric(spans, metric, unit)
    binary = metric == "errors"
    found, errors = scan_cube(spans, dimensions, metric, source, binary and unit == "origin")
    mine = target.lazy().with_columns(pl.lit(True).alias("target"))
    scan = ScanRows(unit_rows(mine, dimensions, metric, source), found, errors, None, binary)
    frame = compact(unit_rows(spans, dimensions, metric, source), names)
    rows = FrameRows(spans, frame, None, unit, binary, False)
    return dimensions, found.lazy(), frame, scan, rows


@pytest.mark.parametrize(("metric", "unit", "incident"), CASES)
def test_the_cube_from_the_scan_is_the_cube_of_the_rows(
    metric: str, unit: str, incident: ErrorIncident | LatencyIncident
) -> None:
    dimensions, found, frame, _, _ = _setup(metric, unit, incident)
    names = [d.name for d in dimensions]
    order = ["target", *names]
    got = found.drop("first").with_columns(pl.col(names).cast(pl.String)).collect()
    want = cube(frame, names).with_columns(pl.col(names).cast(pl.String))
    assert got.height > 50
    assert_frame_equal(
        got.select(*order, *TERMS).sort(order),
        want.select(*order, *TERMS).sort(order),
        check_exact=False,
        rel_tol=1e-12,
    )
    # a cube row's first start time is the earliest of its rows
    first = (
        frame.with_columns(pl.col(names).cast(pl.String))
        .group_by(order)
        .agg(pl.col("start_time").min().alias("want"))
        .collect()
    )
    joined = found.with_columns(pl.col(names).cast(pl.String)).collect().join(first, on=order)
    assert joined.height == got.height
    assert (joined["first"] == joined["want"]).all()


@pytest.mark.parametrize(("metric", "unit", "incident"), CASES)
def test_the_row_answers_are_the_row_frames(
    metric: str, unit: str, incident: ErrorIncident | LatencyIncident
) -> None:
    dimensions, _, _, scan, rows = _setup(metric, unit, incident)
    errors = scan.error_rows(dimensions)
    assert errors.height > 20
    assert_frame_equal(errors, rows.error_rows(dimensions), check_exact=False, rel_tol=1e-12)
    by_name = {d.name: d for d in dimensions}
    pairs = [(by_name["version"], "rag-api 2.0.0"), (by_name["model"], "gpt-4o-mini")]
    pairs += [(by_name["resource.cloud.region"], "eu-west-1")]
    got, want = scan.sightings(pairs), rows.sightings(pairs)
    # ties in (metric, start) aside, the same traces; errors break ties by start time
    assert [s.first for s in got] == [s.first for s in want]
    if metric != "cost":
        assert [s.examples for s in got] == [s.examples for s in want]
    slices = pl.DataFrame(
        {
            "slice": ["model = gpt-4o-mini", "tool = get_order and type = tool"],
            "conditions": [["model = gpt-4o-mini"], ["tool = get_order", "type = tool"]],
        }
    )
    assert scan.examples(slices, errors) == rows.examples(slices, errors)
    conditions = [[("model", "gpt-4o-mini")], [("tool", "get_order"), ("type", "tool")]]
    at = TARGET_START + timedelta(minutes=20)
    order = ["seed", "after"]
    assert_frame_equal(
        scan.split_counts(at, conditions, dimensions).drop("members").sort(order),
        rows.split_counts(at, conditions, dimensions).drop("members").sort(order),
        check_exact=False,
        rel_tol=1e-12,
    )


def test_examples_widen_until_they_hold_three_traces() -> None:
    """Many rows of one trace first: the first rows read are all one trace."""
    rows = pl.LazyFrame(
        {
            "trace_id": ["a"] * 100 + ["b", "c", "d"],
            "y": [9.0] * 100 + [3.0, 2.0, 1.0],
        }
    )
    assert worst_traces(rows, ["y"], [True]) == ["a", "b", "c"]
    assert worst_traces(rows.head(50), ["y"], [True]) == ["a"]
