"""Trace statistics per service, operation or attribute: checked against a plain Python
computation over the spans and against the waterfall's own self times."""

from __future__ import annotations

from collections import defaultdict

import polars as pl
import pytest
from tui_support import synthetic_trace

from pyflare_cli.tui.model.trace_stats import (
    NONE,
    STAT_COLUMNS,
    StatsView,
    attribute_keys,
    span_stats,
)
from pyflare_cli.tui.model.waterfall import WaterfallModel


@pytest.fixture(scope="module")
def model() -> WaterfallModel:
    spans = synthetic_trace(400)
    # An attribute on some spans only, to group by.
    spans = spans.with_columns(
        pl.when(pl.col("service_name") == "postgres")
        .then(pl.col("attributes").map.get("synthetic.index").cast(pl.Int64) % 3)
        .cast(pl.String)
        .alias("shard")
    )
    attributes = [
        {**a, "db.shard": s} if s is not None else a
        for a, s in zip(spans["attributes"].to_list(), spans["shard"].to_list(), strict=True)
    ]
    spans = spans.drop("shard").with_columns(
        pl.Series("attributes", attributes, dtype=spans.schema["attributes"])
    )
    return WaterfallModel(spans)


def _expected(model: WaterfallModel, key: list[str]) -> dict[tuple[str, ...], dict[str, float]]:
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    rows = model.spans.to_dicts()
    for i, row in enumerate(rows):
        values = {
            "service": row["service_name"],
            "operation": row["name"],
            "db.shard": (row["attributes"] or {}).get("db.shard", NONE),
        }
        groups[tuple(values[k] for k in key)].append(i)
    self_time = model.self_time().to_list()
    out = {}
    for group, members in groups.items():
        durations = [int(model.end[i] - model.start[i]) for i in members]
        out[group] = {
            "count": len(members),
            "total_ns": sum(durations),
            "avg_ns": sum(durations) / len(durations),
            "min_ns": min(durations),
            "max_ns": max(durations),
            "self_ns": sum(self_time[i] for i in members),
            "errors": sum(rows[i]["status_code"] == "error" for i in members),
        }
    return out


@pytest.mark.parametrize(
    ("group", "key"),
    [
        ("service", ["service"]),
        ("operation", ["service", "operation"]),
        ("attr:db.shard", ["db.shard"]),
    ],
)
def test_stats_per_group_match_the_spans(model: WaterfallModel, group: str, key: list[str]) -> None:
    table = span_stats(model.spans, model.self_time(), StatsView(group))
    assert table.columns == [*key, *STAT_COLUMNS]
    expected = _expected(model, key)
    assert table.height == len(expected)
    for row in table.iter_rows(named=True):
        want = expected[tuple(row[k] for k in key)]
        for column, value in want.items():
            assert row[column] == pytest.approx(value), (row, column)
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["self_ns"].sum() == model.self_time().sum()
    if group.startswith("attr:"):
        assert NONE in table["db.shard"].to_list() and "0" in table["db.shard"].to_list()


@pytest.mark.parametrize("column", STAT_COLUMNS)
@pytest.mark.parametrize("descending", [True, False])
def test_sorts_by_every_measure(model: WaterfallModel, column: str, descending: bool) -> None:
    table = span_stats(model.spans, model.self_time(), StatsView("operation", column, descending))
    values = table[column].to_list()
    assert values == sorted(values, reverse=descending)


def test_attribute_keys_most_common_first(model: WaterfallModel) -> None:
    keys = attribute_keys(model.spans)
    assert keys[0] == "synthetic.index" and "db.shard" in keys


def test_unknown_grouping_is_refused(model: WaterfallModel) -> None:
    with pytest.raises(ValueError, match="unknown grouping"):
        span_stats(model.spans, model.self_time(), StatsView("attr:"))


def test_fit_columns_keeps_the_first_statistics_and_widens_the_name() -> None:
    from pyflare_cli.tui.model.trace_stats import STAT_COLUMNS, fit_columns

    stats = [(c, 7) for c in STAT_COLUMNS]  # 9 cells each with padding: 72 for all eight
    keys = [("service", 12), ("operation", 40)]
    widths, shown = fit_columns(200, keys, stats)
    assert shown == list(STAT_COLUMNS) and widths == {"service": 12, "operation": 40}
    widths, shown = fit_columns(78, keys, stats)
    # the keys at 12 cells (28 with padding) leave 50: five statistics, in table order
    assert shown == ["count", "total_ns", "self_ns", "share", "errors"]
    assert widths == {"service": 12, "operation": 17}  # the 5 cells left go to the name
    assert 28 + 5 + 5 * 9 == 78
    widths, shown = fit_columns(20, keys, stats)
    assert shown == [] and widths == {"service": 12, "operation": 12}
