"""Errors where they start and self time (`pyflare rca --unit origin`), on hand-made trees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from pyflare_cli.analysis.rca.origin import origin_error_spans, origin_errors, self_time_ms

T0 = datetime(2025, 5, 1, 9, tzinfo=UTC)


def links(rows: list[tuple[str, str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"trace_id": pl.String, "span_id": pl.String, "parent_span_id": pl.String},
        orient="row",
    )


def origins(tree: list[tuple[str, str, str | None]], failed: set[str]) -> set[str]:
    frame = links(tree)
    errors = frame.filter(pl.col("span_id").is_in(sorted(failed)))
    return set(origin_errors(errors, frame).get_column("span_id").to_list())


# root -> agent -> (llm, tool); tool -> http
TREE = [
    ("t", "root", None),
    ("t", "agent", "root"),
    ("t", "llm", "agent"),
    ("t", "tool", "agent"),
    ("t", "http", "tool"),
]


def test_a_failure_that_propagates_up_counts_once_where_it_starts() -> None:
    assert origins(TREE, {"root", "agent", "llm"}) == {"llm"}


def test_an_ancestor_with_a_failing_grandchild_is_not_an_origin() -> None:
    # The tool span itself did not fail (it retried), the http call under it did.
    assert origins(TREE, {"root", "agent", "http"}) == {"http"}


def test_two_independent_failures_are_two_origins() -> None:
    assert origins(TREE, {"root", "agent", "llm", "http"}) == {"llm", "http"}


def test_a_parent_failing_on_its_own_is_an_origin() -> None:
    assert origins(TREE, {"agent"}) == {"agent"}
    assert origins(TREE, {"root"}) == {"root"}


def test_lost_parents_cycles_and_other_traces() -> None:
    tree = [
        ("t", "a", "missing"),  # its parent was never received
        ("t", "b", "a"),
        ("u", "x", "y"),  # a cycle: x <-> y
        ("u", "y", "x"),
        ("v", "b", None),  # the same span id in another trace
    ]
    assert origins(tree, {"a", "b"}) == {"b"}
    frame = links(tree)
    errors = frame.filter(pl.col("trace_id") == "u")
    assert origin_errors(errors, frame).height == 0  # each has a failing descendant
    only_v = frame.filter(pl.col("trace_id") == "v")
    assert origin_errors(only_v, frame).get_column("trace_id").to_list() == ["v"]


def test_the_lazy_form_collects_only_failing_traces() -> None:
    spans = links([*TREE, ("ok", "r", None), ("ok", "c", "r")]).with_columns(
        pl.when(pl.col("span_id").is_in(["root", "agent", "llm"]))
        .then(pl.lit("error"))
        .otherwise(pl.lit("ok"))
        .alias("status_code")
    )
    result = origin_error_spans(spans.lazy())
    assert result.rows() == [("t", "llm")]


def test_self_time_subtracts_the_union_of_children_clipped_to_the_parent() -> None:
    def at(ms: float) -> datetime:
        return T0 + timedelta(milliseconds=ms)

    rows = [
        ("t", "a", None, 0, 100),
        ("t", "b", "a", 10, 60),  # overlaps c: the union 10..80 counts once
        ("t", "c", "a", 50, 80),
        ("t", "d", "b", 20, 30),
        ("t", "e", "a", 90, 130),  # runs past its parent: only 90..100 is a's
    ]
    spans = pl.DataFrame(
        [(t, s, p, at(x), at(y)) for t, s, p, x, y in rows],
        schema={
            "trace_id": pl.String,
            "span_id": pl.String,
            "parent_span_id": pl.String,
            "start_time": pl.Datetime("ns", "UTC"),
            "end_time": pl.Datetime("ns", "UTC"),
        },
        orient="row",
    ).with_columns(
        (pl.col("end_time") - pl.col("start_time")).dt.total_nanoseconds().alias("duration_ns")
    )
    names = spans.select(pl.col("span_id").hash().alias("span_key"), "span_id")
    result = self_time_ms(spans.lazy()).collect().join(names, on="span_key")
    got = dict(result.select("span_id", "self_ms").iter_rows())
    assert got == pytest.approx({"a": 20.0, "b": 40.0, "c": 30.0, "d": 10.0, "e": 40.0})
