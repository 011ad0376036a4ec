"""Two traces aligned span by span: what is missing, slower or changed."""

from __future__ import annotations

import polars as pl
from tui_support import synthetic_trace

from pyflare_cli.tui.model.diff import compare_traces


def test_compare_marks_missing_slower_and_changed() -> None:
    a = synthetic_trace(60, seed=1, trace_id="a" * 32)
    b = synthetic_trace(60, seed=1, trace_id="b" * 32)
    b = b.with_columns(
        pl.when(pl.col("span_id") == "0000000000000002")
        .then(pl.col("end_time") + pl.duration(seconds=5))
        .otherwise(pl.col("end_time"))
        .alias("end_time"),
        pl.when(pl.col("span_id") == "0000000000000003")
        .then(pl.lit("error"))
        .otherwise(pl.col("status_code"))
        .alias("status_code"),
    ).filter(pl.col("span_id") != f"{60:016x}")
    diff = compare_traces(a, b)
    assert diff.count("only_a") == 1 and diff.count("only_b") == 0
    slower = [row for row in diff.rows if row.kind == "slower_b"]
    assert slower and slower[0].a is not None and slower[0].a.span_id == "0000000000000002"
    changed = [row for row in diff.rows if row.changes]
    assert any(key == "status_code" for row in changed for key, _, _ in row.changes)
