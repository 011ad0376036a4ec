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

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.rca import units
from pyflare_cli.analysis.rca.dimensions import Dimension, discover
from pyflare_cli.analysis.rca.origin import (
    KeyTable,
    covered_ns,
    keys,
    previous_max,
    self_time_ms,
)
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


@pytest.mark.parametrize("part_rows", [1_000_000, 700])
def test_self_time_looked_up_by_key_equals_the_join(
    part_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Self time streams past a sorted-key lookup of the parents' covered time, the walk in
    parts of whole traces; it equals the join of every span with its covered time."""
    monkeypatch.setattr(units, "SELF_TIME_ROWS", part_rows)
    target, baseline = pair(5, 300, LatencyIncident())
    spans = windows(target.lazy(), baseline.lazy())
    metric = unit_metric(spans, "latency", "origin")
    assert isinstance(metric, pl.Expr)
    looked_up = spans.select(
        keys()[0],
        pl.col("span_id").hash().alias("span_key"),
        metric.alias("y"),
        (pl.col("duration_ns") / 1e6).alias("ms"),
    )
    joined = self_time_ms(spans)
    both = looked_up.collect().join(joined.collect(), on=["trace_key", "span_key"])
    assert both.height == target.height + baseline.height
    assert (both["y"] == both["self_ms"]).all()
    # the gateway and agent spans (2 of 5) own less than their duration
    assert (both["y"] < both["ms"]).sum() >= 0.4 * both.height


def test_the_key_table_finds_every_key_and_nothing_else() -> None:
    """Against a dict, with keys crowded into few low-bit slots (long probe chains)."""
    rng = np.random.default_rng(5)
    keys = np.unique(rng.integers(0, 2**63, 5_000, dtype=np.uint64))
    keys[:500] = (keys[:500] >> np.uint64(20)) << np.uint64(20)  # same low bits
    keys = np.unique(keys)
    values = rng.integers(-(10**9), 10**9, keys.size)
    table = KeyTable(keys, values)
    others = rng.integers(0, 2**63, 5_000, dtype=np.uint64)
    wanted = rng.permutation(np.concatenate([keys, others]))
    want = dict(zip(keys.tolist(), values.tolist(), strict=True))
    assert table.get(wanted).tolist() == [want.get(k, 0) for k in wanted.tolist()]
    assert KeyTable(keys[:0], values[:0]).get(wanted[:10]).tolist() == [0] * 10


def test_previous_max_is_the_running_max_of_earlier_rows_of_each_run() -> None:
    rng = np.random.default_rng(9)
    values = rng.integers(-1000, 1000, 3000)
    starts = rng.random(3000) < 0.05
    starts[0] = True
    want, best = [], 0
    for v, first in zip(values.tolist(), starts.tolist(), strict=True):
        want.append(np.iinfo(np.int64).min if first else best)
        best = v if first else max(best, v)
    assert previous_max(values, starts).tolist() == want
    assert previous_max(values[:0], starts[:0]).size == 0


def test_spans_without_children_cover_nothing() -> None:
    target, _ = pair(1, 5)
    leaves = target.lazy().with_columns(pl.lit(None, pl.String).alias("parent_span_id"))
    assert covered_ns(leaves).height == 0
    metric = unit_metric(leaves.with_columns(pl.lit(True).alias("target")), "latency", "origin")
    assert isinstance(metric, pl.Expr)
    got = leaves.select(metric.alias("y"), (pl.col("duration_ns") / 1e6).alias("ms")).collect()
    assert (got["y"] == got["ms"]).all()
