"""A slice's example traces depend on the data, not on the order its rows arrive in: the
worst ``y`` first, ties (every error row has y = 1) in time order, then by trace id.

On 1M spans the streaming scan hands rows over in a different order each run; a sort on
``y`` alone kept that order for ties, so the report's example links changed run to run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from pyflare_cli.analysis.rca.rows import slice_examples
from pyflare_cli.analysis.rca.scan import ScanRows

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def _rows(y: list[float]) -> pl.DataFrame:
    n = len(y)
    return pl.DataFrame(
        {
            "target": [True] * n,
            "y": y,
            # two rows share each start time, so the trace id has to break the tie
            "start_time": [T0 + timedelta(seconds=i // 2) for i in range(n)],
            "trace_id": [f"t{(7 * i) % n:03d}" for i in range(n)],
            "model": ["m"] * n,
            "span_id": pl.Series(range(n), dtype=pl.UInt64),
        }
    )


def _expected(rows: pl.DataFrame) -> list[str]:
    ordered = sorted(
        rows.iter_rows(named=True), key=lambda r: (-r["y"], r["start_time"], r["trace_id"])
    )
    out: list[str] = []
    for r in ordered:
        if r["trace_id"] not in out:
            out.append(r["trace_id"])
    return out[:3]


SLICES = pl.DataFrame({"slice": ["model = m"], "conditions": [["model = m"]]})


@pytest.mark.parametrize("ties", ["all", "some"])
def test_examples_do_not_follow_row_order(ties: str) -> None:
    n = 400
    y = [1.0] * n if ties == "all" else [float(i % 3) for i in range(n)]
    rows = _rows(y)
    want = _expected(rows)
    for seed in range(6):
        shuffled = rows.sample(fraction=1.0, shuffle=True, seed=seed)
        assert slice_examples(shuffled.lazy(), SLICES) == {"model = m": want}, seed
        reader = ScanRows(shuffled.lazy(), pl.DataFrame(), pl.DataFrame(), None, False)
        assert reader.examples(SLICES, pl.DataFrame()) == {"model = m": want}, seed


def test_the_rows_order_is_what_changes() -> None:
    # the shuffles above reorder the ties: the first three rows differ between seeds
    rows = _rows([1.0] * 400)
    firsts = {
        tuple(rows.sample(fraction=1.0, shuffle=True, seed=s).get_column("trace_id").head(3))
        for s in range(6)
    }
    assert len(firsts) > 1
    assert np.unique(rows.get_column("trace_id")).size == 400
