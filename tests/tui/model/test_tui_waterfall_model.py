"""The waterfall's state without a terminal: tree, folding, critical path, search, zoom."""

from __future__ import annotations

import polars as pl
import pytest
from tui_support import NOW, synthetic_trace

from pyflare_cli.analysis.traces.tree import breakdown, build_tree, find_critical_path
from pyflare_cli.errors import QuerySyntaxError
from pyflare_cli.tui.model.waterfall import WaterfallModel


@pytest.fixture(scope="module")
def spans() -> pl.DataFrame:
    return synthetic_trace(400)


@pytest.fixture
def model(spans: pl.DataFrame) -> WaterfallModel:
    return WaterfallModel(spans)


def test_model_uses_the_analysis_tree_and_path(model: WaterfallModel, spans: pl.DataFrame) -> None:
    tree = build_tree(spans)
    assert model.rows == tree.rows
    assert model.path.span_ids == find_critical_path(tree, spans).span_ids
    assert model.visible == list(range(len(spans)))
    service = model.breakdown("service")
    assert service.equals(breakdown(spans, "service"))


def test_fold_one_node_a_level_and_all(model: WaterfallModel) -> None:
    root_children = model.tree.nodes[0].children
    first = root_children[0]
    hidden = model.subtree_end[first] - first - 1
    assert model.collapse(first)
    assert len(model.visible) == len(model) - hidden
    assert model.hidden_below(first) == hidden
    assert not model.collapse(first)
    model.toggle(first)
    assert len(model.visible) == len(model)

    model.set_level(1, folded=True)
    assert model.visible == [0, *root_children]
    model.set_level(1, folded=False)
    model.set_all(folded=True)
    assert model.visible == [0]
    model.set_all(folded=False)
    assert len(model.visible) == len(model)


def test_critical_only_and_reveal(model: WaterfallModel) -> None:
    model.set_critical_only(True)
    assert model.visible == model.path_nodes
    off_path = next(ni for ni in range(len(model)) if model.rows[ni] not in model.on_path)
    model.reveal(off_path)
    assert not model.critical_only and model.position(off_path) is not None
    leaf = len(model) - 1
    model.set_all(folded=True)
    model.reveal(leaf)
    assert model.position(leaf) is not None


def test_search_uses_the_query_language(model: WaterfallModel) -> None:
    found = model.search("service:postgres", NOW)
    assert found == len(model.matches) > 0
    assert all(model.service[model.rows[ni]] == "postgres" for ni in model.matches)
    first, last = model.matches[0], model.matches[-1]
    assert model.next_match(first, 1) == model.matches[1]
    assert model.next_match(last, 1) == first  # wraps
    assert model.next_match(first, -1) == last
    with pytest.raises(QuerySyntaxError):
        model.search("servce:x", NOW)
    model.search("", NOW)
    assert model.matches == [] and model.query == ""


def test_zoom_and_pan_stay_inside_the_trace(model: WaterfallModel) -> None:
    full = model.window
    model.zoom(0.25)
    assert model.zoom_level == pytest.approx(4, rel=1e-3)
    model.pan(-10)
    assert model.window[0] == model.t0
    model.pan(10)
    assert model.window[1] == model.t1
    model.zoom_to(5)
    r = model.rows[5]
    assert model.window[0] <= model.start[r] and model.end[r] <= model.window[1]
    model.reset_zoom()
    assert model.window == full
