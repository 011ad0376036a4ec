"""The counting passes give the same sums on the cube as on the rows it summarises."""

from __future__ import annotations

import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.rca.passes import (
    TERMS,
    crossing_counts,
    cube,
    membership_counts,
    single_counts,
    slice_counts,
)

DIMS = ["region", "model", "user"]


def _rows(seed: int = 0, n: int = 5000) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "target": rng.random(n) < 0.5,
            "trace_id": [f"t{i // 4}" for i in range(n)],
            "span_id": [f"s{i}" for i in range(n)],
            "y": rng.lognormal(3, 1, n),
            "region": rng.choice(["eu", "us", "ap"], n),
            "model": rng.choice(["mini", "big", "(none)"], n),
            "user": rng.choice([f"u{i}" for i in range(40)], n),
        }
    )


def _same(a: pl.DataFrame, b: pl.DataFrame, keys: list[str]) -> None:
    sums = [c for c in TERMS if c in a.columns]
    a, b = (f.with_columns(pl.col(keys).cast(pl.String)).sort(keys) for f in (a, b))
    assert_frame_equal(a.select(*keys, *sums), b.select(*keys, *sums), check_dtypes=False)


def test_the_cube_is_smaller_and_counts_the_same() -> None:
    rows = _rows()
    summed = cube(rows, DIMS)
    assert summed.height < rows.height / 2
    assert summed.get_column("nt").sum() == rows.get_column("target").sum()
    lazy, small = rows.lazy(), summed.lazy()
    _same(
        single_counts(lazy, DIMS, False), single_counts(small, DIMS, False), ["dimension", "value"]
    )
    seeds = [[("region", "eu")], [("region", "us"), ("model", "mini")], []]
    _same(
        crossing_counts(lazy, seeds, DIMS, False),
        crossing_counts(small, seeds, DIMS, False),
        ["seed", "dimension", "value"],
    )
    _same(
        membership_counts(lazy, seeds[:2], False),
        membership_counts(small, seeds[:2], False),
        ["mask"],
    )
    _same(slice_counts(lazy, seeds, False), slice_counts(small, seeds, False), ["seed"])
