"""``root_first`` (an arg_min over an integer rank) picks what the per-trace sort it
replaced picked, on random traces with several roots, orphans, equal starts and nulls."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from pyflare_cli.analysis.stats.dimensions import root_first

ORDER = [pl.col("parent_span_id").is_not_null(), pl.col("start_time")]


@pytest.mark.parametrize("seed", range(10))
def test_root_first_is_the_sorted_first(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 3000
    base = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp() * 1e9)
    frame = pl.DataFrame(
        {
            "trace_id": rng.integers(0, 300, n).astype(str),
            "root": rng.random(n) < 0.2,
            "start_time": base + rng.integers(0, 50, n) * 1_000_000,  # many equal starts
            "missing": rng.random(n) < 0.5,
            "number": rng.integers(0, 1000, n),
        }
    ).select(
        "trace_id",
        pl.when(~pl.col("root")).then(pl.lit("p")).alias("parent_span_id"),
        pl.col("start_time").cast(pl.Datetime("ns", "UTC")),
        pl.when(~pl.col("missing")).then(pl.col("number").cast(pl.String)).alias("value"),
    )
    got = frame.group_by("trace_id", maintain_order=True).agg(
        root_first(pl.col("value")).alias("first"),
        root_first(pl.col("value"), skip_nulls=True).alias("first_set"),
    )
    expected = frame.group_by("trace_id", maintain_order=True).agg(
        pl.col("value").sort_by(ORDER).first().alias("first"),
        pl.col("value").sort_by(ORDER).drop_nulls().first().alias("first_set"),
    )
    assert got.equals(expected)
