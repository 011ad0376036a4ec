"""rca's origin walk ends on a trace whose parent links form a cycle, on every engine.

The SQL engines walk up from the error spans by a recursive query; without a bound, a
cycle of parent links made it endless (DuckDB ran until memory ran out, ClickHouse failed
at its recursion limit). It now stops where Polars' walk stops
(``analysis.rca.origin.MAX_DEPTH`` generations), and the cube equals Polars'.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.rca.dimensions import BUILT_IN, Dimension
from pyflare_cli.engine import rca
from pyflare_cli.engine.clickhouse_engine import ChdbRunner, ClickHouseEngine, ClickHouseSource
from pyflare_cli.engine.polars_engine import PolarsEngine
from tests.conftest import canonical_spans, commit_spans

pytest.importorskip("duckdb")
pytest.importorskip("chdb")

T0 = datetime(2026, 11, 19, tzinfo=UTC)
DIMENSIONS = [Dimension("service", BUILT_IN["service"])]


def _span(trace: str, span: str, parent: str | None, hours: int, **over: Any) -> dict[str, Any]:
    row = {"trace_id": trace, "span_id": span, "parent_span_id": parent}
    return row | {"start_time": T0 + timedelta(hours=hours), "service_name": "api"} | over


def _rows() -> list[dict[str, Any]]:
    rows = []
    for day in (0, 1):
        h = 24 * day + 1
        rows += [
            # an error under a ring of two failing spans: none is the ring's descendant...
            _span(f"ring{day}", "a", "b", h, status_code="error"),
            _span(f"ring{day}", "b", "a", h, status_code="error"),
            _span(f"ring{day}", "leaf", "a", h, status_code="error", service_name="db"),
            # ...and a plain trace: the error under an erroring parent is the origin
            _span(f"ok{day}", "root", None, h, status_code="error"),
            _span(f"ok{day}", "kid", "root", h, status_code="error", service_name="db"),
        ]
        rows += [_span(f"fine{day}-{i}", "s", None, h, status_code="ok") for i in range(3)]
    return rows


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cycles") / "store"
    commit_spans(root, canonical_spans(_rows()), "cycles")
    return root


def _cube(engine: rca.Engine) -> pl.DataFrame:
    target = (T0 + timedelta(days=1), T0 + timedelta(days=2))
    baseline = (T0, T0 + timedelta(days=1))
    found = rca.rca_cube(engine, target, baseline, DIMENSIONS, "errors", "origin")
    return found.drop("members")


@pytest.mark.parametrize("name", ["duckdb", "chdb"])
def test_origin_walk_ends_on_a_cycle(store: Path, name: str) -> None:
    reference = _cube(PolarsEngine(store))
    # the leaf and the plain trace's kid are origins; the ring's spans are each
    # other's ancestors, so neither counts
    target = reference.filter(pl.col("target"))
    assert dict(zip(target["service"], target["st"], strict=True)) == {"api": 0.0, "db": 2.0}
    if name == "duckdb":
        from pyflare_cli.engine.duckdb_engine import DuckDBEngine

        engine: rca.Engine = DuckDBEngine(store)
    else:
        engine = ClickHouseEngine(ChdbRunner(), ClickHouseSource(root=store))
    assert_frame_equal(_cube(engine), reference)
