"""The interface itself on the real engines: window scans, uploads, several results at
once, and samples (bounded, repeatable on one engine)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from pyflare_cli.engine.base import SqlEngine
from pyflare_cli.engine.clickhouse_engine import ChdbRunner, ClickHouseEngine, ClickHouseSource
from pyflare_cli.engine.cost import Engine
from pyflare_cli.engine.duckdb_engine import DuckDBEngine
from pyflare_cli.engine.polars_engine import PolarsEngine
from pyflare_cli.store.scan import scan_spans

SINCE = datetime(2026, 11, 14, 6, tzinfo=UTC)
UNTIL = datetime(2026, 11, 17, 18, 30, tzinfo=UTC)


@pytest.fixture(params=["polars", "duckdb", "chdb"])
def engine(request: pytest.FixtureRequest, store20k: Path) -> Iterator[Engine]:
    made: Engine
    if request.param == "polars":
        made = PolarsEngine(store20k)
    elif request.param == "duckdb":
        made = DuckDBEngine(store20k)
    else:
        made = ClickHouseEngine(ChdbRunner(), ClickHouseSource(root=store20k))
    yield made
    made.close()


def _select(engine: Engine, relation: object, sql: str) -> object:
    if isinstance(engine, SqlEngine):
        return sql.format(r=relation)
    assert isinstance(relation, pl.LazyFrame)
    return relation


def test_a_window_scan_keeps_exactly_the_window(engine: Engine, store20k: Path) -> None:
    want = scan_spans(store20k, SINCE, UNTIL).select("span_id").collect()["span_id"].sort()
    assert 0 < want.len() < scan_spans(store20k).select(pl.len()).collect().item()
    relation = engine.spans(SINCE, UNTIL, ["span_id"])
    query = _select(engine, relation, "SELECT span_id FROM ({r}) AS s")
    (got,) = engine.collect_all([query])  # type: ignore[list-item]
    assert got["span_id"].cast(pl.String).sort().to_list() == want.to_list()


def test_several_results_at_once_and_an_upload(engine: Engine) -> None:
    table = pl.DataFrame({"model": ["gpt-4o-mini", "o'quote\\slash", None], "rank": [1, 2, 3]})
    uploaded = engine.upload(table)
    spans = engine.spans(SINCE, UNTIL, ["model"])
    if isinstance(engine, SqlEngine):
        queries: list[object] = [
            f"SELECT model, rank FROM ({uploaded}) AS t ORDER BY rank",
            f"SELECT count(*) AS n FROM ({spans}) AS s WHERE model = 'gpt-4o-mini'",
        ]
    else:
        assert isinstance(uploaded, pl.LazyFrame) and isinstance(spans, pl.LazyFrame)
        queries = [uploaded, spans.filter(pl.col("model") == "gpt-4o-mini").select(pl.len())]
    back, counted = engine.collect_all(queries)  # type: ignore[arg-type]
    assert back["model"].cast(pl.String).to_list() == table["model"].to_list()
    assert counted.item() > 0


def test_a_sample_is_bounded_and_repeatable(engine: Engine) -> None:
    spans = engine.spans(SINCE, UNTIL, ["span_id", "model"])
    first, again, other = engine.collect_all(
        [
            engine.sample(spans, 50, seed=1),
            engine.sample(spans, 50, seed=1),  # type: ignore[arg-type]
            engine.sample(spans, 50, seed=2),
        ]  # type: ignore[arg-type]
    )
    ids = first["span_id"].cast(pl.String)
    assert first.height == 50 and ids.n_unique() == 50
    assert ids.sort().to_list() == again["span_id"].cast(pl.String).sort().to_list()
    assert set(ids) != set(other["span_id"].cast(pl.String))
