"""rca's counting gives the same answer on every engine: the cube (a row per window and
combination of dimension values, with the sums the tests read) computed by DuckDB, chdb
over the store's Parquet, chdb over a Collector-style ``otel_traces`` table and Spark
Connect equals the one Polars computes, and the slice search run on each cube finds the
same slices with the same p-values (to 1e-9) and counts (exact).

On the 20k-span demo store, ``--metric errors`` with ``--unit span`` and ``origin`` (what
the SQL cube covers: origin through a recursive query on parent links),
target the last day against the day before and the last four days against the four
before (more rows per slice, more significant ones).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.rca.dimensions import Dimension, discover
from pyflare_cli.analysis.rca.passes import TERMS
from pyflare_cli.analysis.rca.report import PROBE
from pyflare_cli.analysis.rca.slices import SliceSearch, SliceSettings, find_slices
from pyflare_cli.engine import rca
from pyflare_cli.engine.base import EngineUnsupported
from pyflare_cli.engine.clickhouse_engine import ClickHouseEngine, parse_url
from pyflare_cli.engine.polars_engine import PolarsEngine
from pyflare_cli.store.scan import scan_spans

pytest.importorskip("duckdb")
pytest.importorskip("chdb")

DAYS = (1, 4)
UNITS = ("span", "origin")
CASES = [(days, unit) for days in DAYS for unit in UNITS]
Reference = dict[tuple[int, str], tuple[pl.DataFrame, SliceSearch]]
SETTINGS = SliceSettings(binary=True, min_size=20, max_order=2, alpha=0.05)


def _windows(store: Path, days: int) -> tuple[rca.Window, rca.Window]:
    last = scan_spans(store, None, None).select(pl.col("start_time").max()).collect().item()
    end: datetime = last + timedelta(seconds=1)
    span = timedelta(days=days)
    return (end - span, end), (end - 2 * span, end - span)


def _answer(
    engine: rca.Engine, store: Path, days: int, unit: str
) -> tuple[pl.DataFrame, SliceSearch]:
    target, baseline = _windows(store, days)
    dimensions = discover(rca.probe(PolarsEngine(store), target, baseline, PROBE))
    found = rca.rca_cube(engine, target, baseline, dimensions, "errors", unit)
    names = [d.name for d in dimensions]
    return found, find_slices(found.lazy(), names, SETTINGS)


def _same(got: tuple[pl.DataFrame, SliceSearch], want: tuple[pl.DataFrame, SliceSearch]) -> None:
    cube, search = got
    ref_cube, ref_search = want
    assert cube.height > 100
    # members: a sum of the engine's own row hashes; only its equality is ever read
    assert cube.schema == ref_cube.schema
    order = [c for c in cube.columns if c != "members"]
    assert_frame_equal(
        cube.drop("members").sort(order), ref_cube.drop("members").sort(order), check_exact=True
    )
    assert search.totals == ref_search.totals
    assert search.dimensions == ref_search.dimensions
    assert search.tested == ref_search.tested
    keep = [c for c in ref_search.slices.columns if c != "members"]
    assert search.slices.height == ref_search.slices.height > 0
    assert_frame_equal(
        search.slices.select(keep), ref_search.slices.select(keep), rel_tol=1e-9, abs_tol=1e-12
    )


@pytest.fixture(scope="module")
def reference(store20k: Path) -> Reference:
    return {(d, u): _answer(PolarsEngine(store20k), store20k, d, u) for d, u in CASES}


@pytest.mark.parametrize(("days", "unit"), CASES)
def test_duckdb_cube_matches_polars(
    store20k: Path, reference: Reference, days: int, unit: str
) -> None:
    from pyflare_cli.engine.duckdb_engine import DuckDBEngine

    engine = DuckDBEngine(store20k)
    try:
        _same(_answer(engine, store20k, days, unit), reference[days, unit])
    finally:
        engine.close()


@pytest.mark.parametrize(("days", "unit"), CASES)
def test_chdb_cube_over_parquet_matches_polars(
    store20k: Path, reference: Reference, days: int, unit: str
) -> None:
    from pyflare_cli.engine.clickhouse_engine import ChdbRunner, ClickHouseSource

    engine = ClickHouseEngine(ChdbRunner(), ClickHouseSource(root=store20k))
    try:
        _same(_answer(engine, store20k, days, unit), reference[days, unit])
    finally:
        engine.close()


def test_chdb_cube_over_otel_traces_matches_polars(
    store20k: Path, otel_session: Path, reference: Reference
) -> None:
    engine = ClickHouseEngine(*parse_url(f"chdb://{otel_session}?table=otel_traces"))
    try:
        for unit in UNITS:
            _same(_answer(engine, store20k, 4, unit), reference[4, unit])
    finally:
        engine.close()


@pytest.mark.spark
def test_spark_cube_matches_polars(
    store20k: Path, spark_connect: str, reference: Reference
) -> None:
    from pyflare_cli.engine.spark_engine import SparkEngine

    engine = SparkEngine(store20k, spark_connect)
    try:
        for days, unit in CASES:
            _same(_answer(engine, store20k, days, unit), reference[days, unit])
    finally:
        engine.close()


def test_numeric_dimensions_are_cut_at_the_same_edges(store20k: Path) -> None:
    """An attribute cut at quartiles gets the same labels from SQL as from Polars' cut."""
    from pyflare_cli.engine.duckdb_engine import DuckDBEngine

    target, baseline = _windows(store20k, 4)
    probe = rca.probe(PolarsEngine(store20k), target, baseline, PROBE)
    numeric = [d for d in discover(probe) if d.numeric]
    if not numeric:  # the demo's token counts live in columns: cut one attribute anyway
        numeric = [_forced_numeric(probe)]
    engine = DuckDBEngine(store20k)
    try:
        got = rca.rca_cube(engine, target, baseline, numeric, "errors", "span")
    finally:
        engine.close()
    want = rca.rca_cube(PolarsEngine(store20k), target, baseline, numeric, "errors", "span")
    order = ["target", *(d.name for d in numeric)]
    assert want.select(order[1:]).n_unique() > 2
    assert_frame_equal(got.drop("members").sort(order), want.drop("members").sort(order))


def _forced_numeric(probe: pl.DataFrame) -> Dimension:
    """A numeric attribute of the demo cut at its quartiles, as discover does for one with
    many values."""
    from pyflare_cli.analysis.rca import dimensions as dims

    keys = dims._attribute_keys(probe, "attributes").filter(pl.col("numeric") >= 0.95)
    key = keys.sort("values", descending=True).get_column("key")[0]
    raw = pl.col("attributes").map.get(key)
    sample = probe.select(raw.cast(pl.Float64, strict=False)).to_series()
    edges = dims._edges(sample)
    return Dimension("attr." + key, dims._quantile_expr(raw, edges), True, edges)


@pytest.mark.parametrize(("metric", "unit"), [("latency", "span"), ("errors", "trace")])
def test_what_the_cube_does_not_cover_is_refused(store20k: Path, metric: str, unit: str) -> None:
    """Not counted by loading the spans here: exit 2 naming the option."""
    from pyflare_cli.engine.duckdb_engine import DuckDBEngine

    engine = DuckDBEngine(store20k)
    target, baseline = _windows(store20k, 1)
    try:
        with pytest.raises(EngineUnsupported, match=f"--(metric {metric}|unit {unit})"):
            rca.rca_cube(engine, target, baseline, [], metric, unit)
    finally:
        engine.close()


def test_the_comparison_can_fail(reference: Reference) -> None:
    cube, search = reference[4, "origin"]
    changed = cube.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("nt") + 1)
        .otherwise(pl.col("nt"))
        .alias("nt")
    )
    with pytest.raises(AssertionError):
        _same((changed, search), (cube, search))
    assert set(TERMS) <= set(cube.columns)


def test_the_probe_finds_the_same_dimensions_on_every_engine(store20k: Path) -> None:
    """The attribute maps come back through Arrow as maps rca can read; on windows smaller
    than the probe (every row read) every engine finds the same dimensions and edges."""
    from pyflare_cli.engine.clickhouse_engine import ChdbRunner, ClickHouseSource
    from pyflare_cli.engine.duckdb_engine import DuckDBEngine

    target, baseline = _windows(store20k, 1)
    want = discover(rca.probe(PolarsEngine(store20k), target, baseline, PROBE))
    assert any(d.name.startswith("attr.") for d in want)
    for engine in (
        DuckDBEngine(store20k),
        ClickHouseEngine(ChdbRunner(), ClickHouseSource(root=store20k)),
    ):
        try:
            got = discover(rca.probe(engine, target, baseline, PROBE))
        finally:
            engine.close()
        assert [(d.name, d.edges) for d in got] == [(d.name, d.edges) for d in want]
