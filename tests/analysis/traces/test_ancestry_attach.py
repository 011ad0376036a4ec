"""``with_ancestry`` puts the walk's answer beside each span by row number (no join of
every span on its string ids) and must give the frame the join gave, row for row: on
well-formed forests (the row path), and on messy ones with repeated or null ids (where it
falls back to the join). Parents are found by a 64-bit hash of the ids; a hash that
matches another span than the parent leaves no parent, as the string join would.
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from test_ancestry_rows import _messy_forest

from pyflare_cli.analysis.traces.ancestry import (
    _KEYS,
    _hashed,
    _hashed_parents,
    _nodes,
    _parents,
    ancestry,
    with_ancestry,
)


def joined(spans: pl.LazyFrame, within: pl.LazyFrame | None = None) -> pl.DataFrame:
    """The join ``with_ancestry`` did before, as the reference."""
    found = ancestry(spans if within is None else within).lazy()
    return spans.join(found, on=_KEYS, how="left", maintain_order="left").collect()


def _well_formed(seed: int) -> pl.DataFrame:
    """A messy forest with every id present and unique: the row path's input."""
    frame = _messy_forest(seed).filter(
        pl.col("trace_id").is_not_null() & pl.col("span_id").is_not_null()
    )
    return frame.unique(subset=_KEYS, keep="first", maintain_order=True).with_columns(
        pl.int_range(pl.len()).alias("row")  # a payload column, kept in place
    )


@pytest.mark.parametrize("seed", range(40))
def test_attached_by_row_equals_the_join(seed: int) -> None:
    spans = _well_formed(seed).lazy()
    assert_frame_equal(with_ancestry(spans).collect(), joined(spans))
    # The same rows given apart, as stats gives the window unpriced.
    within = spans.select(*_KEYS, "parent_span_id", "name", "ai_kind", "agent_name", "tool_name")
    assert_frame_equal(with_ancestry(spans, within, aligned=True).collect(), joined(spans))


@pytest.mark.parametrize("seed", range(40))
def test_messy_ids_fall_back_to_the_join(seed: int) -> None:
    spans = _messy_forest(seed).lazy()
    assert_frame_equal(with_ancestry(spans).collect(), joined(spans))
    assert_frame_equal(with_ancestry(spans, spans, aligned=True).collect(), joined(spans))


def test_a_subset_is_joined_not_attached() -> None:
    """``within`` larger than ``spans`` (a search kept some traces): not aligned, joined."""
    everything = _well_formed(3).lazy()
    kept = everything.filter(pl.col("trace_id") == "t0")
    assert_frame_equal(with_ancestry(kept, everything).collect(), joined(kept, everything))


def test_a_hash_collision_leaves_no_parent() -> None:
    nodes = _nodes(
        pl.LazyFrame(
            {
                "trace_id": ["t", "t", "t"],
                "span_id": ["a", "b", "c"],
                "parent_span_id": [None, "a", "gone"],
                "name": ["x", "y", "z"],
                "ai_kind": ["agent", None, None],
                "agent_name": [None, None, None],
                "tool_name": [None, None, None],
            }
        ),
        unique=False,
    )
    keys = nodes.select(_hashed("span_id")).to_series()
    assert _hashed_parents(nodes, keys).to_list() == _parents(nodes).to_list() == [None, 0, None]
    # Span a's key made to equal the hash of c's missing parent: c must still have none.
    gone = nodes.select(_hashed("ptr")).to_series()[2]
    collided = keys.scatter(0, gone)
    assert _hashed_parents(nodes, collided).to_list()[2] is None
