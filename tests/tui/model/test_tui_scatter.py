"""The scatter's geometry: traces to braille dots and cells, and a selection to query terms
that keep exactly the traces drawn in it (checked through the list, on the demo store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from tui_support import NOW

from pyflare_cli.analysis.search.compile import parse
from pyflare_cli.analysis.search.syntax import And, Term
from pyflare_cli.tui.model.data import SortKey, TraceSource
from pyflare_cli.tui.model.scatter import (
    Selection,
    axes_for,
    bin_points,
    braille,
    duration_text,
    selected,
    selection_terms,
    with_range,
)

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def points(rows: list[tuple[float, int, int]]) -> pl.DataFrame:
    """(seconds after T0, duration in ms, errors) per trace."""
    return pl.DataFrame(
        {
            "trace_id": [f"t{i}" for i in range(len(rows))],
            "start_time": [T0 + timedelta(seconds=s) for s, _, _ in rows],
            "duration_ns": [ms * 1_000_000 for _, ms, _ in rows],
            "errors": [e for _, _, e in rows],
        },
        schema_overrides={"start_time": pl.Datetime("ns", "UTC")},
    )


def test_corners_land_in_corner_dots() -> None:
    frame = points([(0, 1, 0), (100, 1000, 0), (0, 1000, 1), (100, 1, 0), (100, 1, 2)])
    axes = axes_for(frame, 10, 3)
    assert axes is not None
    cells = {(r["column"], r["row"]): r for r in bin_points(frame, axes).iter_rows(named=True)}
    assert set(cells) == {(0, 2), (9, 0), (0, 0), (9, 2)}
    assert cells[(0, 2)]["bits"] == 0x40  # bottom-left dot of the bottom-left cell
    assert cells[(0, 0)]["bits"] == 0x01  # top-left
    assert cells[(9, 0)]["bits"] == 0x08  # top-right
    assert cells[(9, 2)] == {"column": 9, "row": 2, "bits": 0x80, "traces": 2, "errors": 1}
    assert cells[(0, 0)]["errors"] == 1
    assert braille(0x40 | 0x80) == "⣀"


def test_dots_of_one_cell_combine_and_counts_add_up() -> None:
    rng = list(range(200))
    frame = points([(s * 0.5, 1 + (s * 37) % 5000, s % 7 == 0) for s in rng])
    axes = axes_for(frame, 40, 6)
    assert axes is not None
    cells = bin_points(frame, axes)
    assert cells["traces"].sum() == 200
    assert cells["errors"].sum() == sum(1 for s in rng if s % 7 == 0)
    assert cells["column"].max() == 39 and cells["row"].min() == 0  # type: ignore[operator]
    assert all(0 < b < 256 for b in cells["bits"])


def test_one_point_and_no_points() -> None:
    assert axes_for(points([]), 10, 3) is None
    axes = axes_for(points([(5, 20, 0)]), 10, 3)
    assert axes is not None and axes.t0 < axes.t1 and axes.lo < axes.hi
    assert bin_points(points([(5, 20, 0)]), axes)["traces"].to_list() == [1]


@pytest.mark.parametrize("ns", [1_000, 1_234_567, 999_999_999, 1_000_000_000, 61_234_000_000])
def test_duration_text_rounds_outwards_and_parses(ns: int) -> None:
    for up in (False, True):
        text = duration_text(ns, up=up)
        node = parse(f"duration:{text}")
        assert isinstance(node, Term) and isinstance(node.value, int)
        assert (node.value >= ns) if up else (node.value <= ns)
        assert abs(node.value - ns) <= ns / 1000


def test_a_new_selection_replaces_the_last() -> None:
    first = ["since:2026-12-07T10:00:00.000Z", "trace.duration:>=1s"]
    query = with_range("status:error", [], first)
    assert query == "status:error since:2026-12-07T10:00:00.000Z trace.duration:>=1s"
    assert with_range(query, first, ["trace.duration:<=5ms"]) == (
        "status:error trace.duration:<=5ms"
    )
    assert with_range(query, first, []) == "status:error"


def test_whole_plot_writes_no_term() -> None:
    frame = points([(0, 1, 0), (100, 1000, 0)])
    axes = axes_for(frame, 10, 3)
    assert axes is not None
    assert selection_terms(axes, Selection(0, 9, 0, 2)) == []
    assert [t.split(":")[0] for t in selection_terms(axes, Selection(0, 9, 0, 1))] == [
        "trace.duration"
    ]
    assert selection_terms(axes, Selection(0, 9, 0, 1))[0].startswith("trace.duration:>=")
    assert selection_terms(axes, Selection(0, 9, 1, 2))[0].startswith("trace.duration:<=")
    assert [t.split(":")[0] for t in selection_terms(axes, Selection(2, 4, 0, 2))] == [
        "since",
        "until",
    ]


@pytest.fixture(scope="module")
def source(tui_store: Path) -> TraceSource:
    return TraceSource(tui_store, lambda: NOW)


@pytest.mark.parametrize(
    "selection",
    [
        Selection(10, 30, 1, 4),
        Selection(0, 59, 0, 2),
        Selection(45, 59, 3, 5),
        Selection(7, 7, 0, 5),
    ],
)
@pytest.mark.parametrize("query", ["since:3d", "since:3d status:error"])
def test_selection_terms_list_the_traces_drawn_in_it(
    source: TraceSource, selection: Selection, query: str
) -> None:
    """Through the list itself: the query with the selection's terms lists every trace drawn
    in the rectangle; the only others began just before its time range and ran into it."""
    drawn = source.points(query, SortKey())
    axes = axes_for(drawn, 60, 6)
    assert axes is not None
    inside = selected(drawn, axes, selection)
    terms = selection_terms(axes, selection)
    assert isinstance(parse(" ".join(terms)), And | Term)
    listed = source.page(with_range(query, [], terms), SortKey(), 0, 100_000).rows
    got, want = set(listed["trace_id"]), set(inside["trace_id"])
    assert want <= got, (len(want), len(got))
    assert want or query.endswith("error")
    extra = selected(
        drawn.filter(pl.col("trace_id").is_in(list(got - want))),
        axes,
        Selection(selection.column0 - 1, selection.column1, selection.row0, selection.row1),
    )
    assert extra.height == len(got - want)  # one column early at most, same durations
