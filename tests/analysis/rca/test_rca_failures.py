"""Failure clusters (`pyflare rca`): error messages mined into templates, and where they sit.

``errors`` holds the error spans of both windows (``target``, ``trace_id``, ``span_id``,
``start_time``, ``message``); ``dims`` the dimension frame of the target spans, which the
concentrations are measured against.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.rca.failures import CLUSTER_SCHEMA, error_message, failure_clusters
from pyflare_cli.schema import POLARS_SCHEMA

T0 = datetime(2025, 3, 1, 14, tzinfo=UTC)
DIMS = ["service", "region", "model"]
TIMEOUT = "TimeoutError: upstream <IP> timed out after <NUM> (request req_<HEX>)"
BAD_INPUT = "ValueError: bad input at index <NUM> for user <NUM>"


def target_dims(n: int = 1000) -> pl.DataFrame:
    """Target spans: service api everywhere, 30% in region eu, model alternating."""
    return pl.DataFrame(
        {
            "span_id": [f"t-span-{i}" for i in range(n)],
            "trace_id": [f"t-trace-{i}" for i in range(n)],
            "start_time": [T0 + timedelta(seconds=i) for i in range(n)],
            "service": ["api"] * n,
            "region": ["eu" if i % 10 < 3 else "us" for i in range(n)],
            "model": ["mini" if i % 2 else "large" for i in range(n)],
        },
        schema_overrides={"start_time": pl.Datetime("ns", "UTC")},
    )


def error_rows(dims: pl.DataFrame, rows: list[int], messages: list[str]) -> pl.DataFrame:
    picked = dims[rows]
    return pl.DataFrame(
        {
            "target": [True] * len(rows),
            "trace_id": picked["trace_id"],
            "span_id": picked["span_id"],
            "start_time": picked["start_time"],
            "message": messages,
        }
    )


def baseline_errors(messages: list[str]) -> pl.DataFrame:
    n = len(messages)
    return pl.DataFrame(
        {
            "target": [False] * n,
            "trace_id": [f"b-trace-{i}" for i in range(n)],
            "span_id": [f"b-span-{i}" for i in range(n)],
            "start_time": [T0 - timedelta(minutes=30, seconds=-i) for i in range(n)],
            "message": messages,
        },
        schema_overrides={"start_time": pl.Datetime("ns", "UTC")},
    )


def clusters_of(
    errors: pl.DataFrame, dims: pl.DataFrame, dimensions: list[str], top: int = 10
) -> pl.DataFrame:
    """:func:`failure_clusters` as the report calls it: the error rows carry their
    dimension values, and the target's rows per value come as the search's counts."""
    present = [d for d in dimensions if d in dims.columns]
    long = dims.unpivot(on=present, index=[], variable_name="dimension", value_name="value")
    counts = pl.concat(
        [
            long.group_by("dimension", "value").agg(pl.len().cast(pl.Float64).alias("nt")),
            pl.DataFrame({"dimension": ["__all__"], "value": ["all"], "nt": [float(dims.height)]}),
        ]
    )
    rows = errors.join(dims.select("span_id", *present), on="span_id", how="left")
    return failure_clusters(rows, counts, present, top)


def timeout(i: int) -> str:
    return (
        f"TimeoutError: upstream 10.0.{i % 7}.{i % 250}:8080 timed out after {30 + i}s "
        f"(request req_{i * 7919:08x}ab)"
    )


def bad_input(i: int) -> str:
    return f"ValueError: bad input at index {i} for user {1000 + 37 * i}"


Case = tuple[pl.DataFrame, pl.DataFrame, list[int], list[int]]


@pytest.fixture(scope="module")
def case() -> Case:
    dims = target_dims()
    eu_rows = [i for i in range(1000) if i % 10 < 3][::7][:40]  # 40 eu spans, both models
    spread_rows = list(range(5, 1000, 67))[:15]  # 15 spans in both regions and models
    assert len(eu_rows) == 40 and len(spread_rows) == 15
    errors = pl.concat(
        [
            error_rows(dims, eu_rows, [timeout(i) for i in eu_rows]),
            error_rows(dims, spread_rows, [bad_input(i) for i in spread_rows]),
            baseline_errors([bad_input(i) for i in range(10)] + ["KeyError: 'x'"] * 4),
        ]
    )
    return errors, dims, eu_rows, spread_rows


def test_messages_differing_in_numbers_and_ids_form_one_template(case: Case) -> None:
    errors, dims, _, _ = case
    clusters = clusters_of(errors, dims, DIMS)
    assert clusters.schema == pl.Schema(CLUSTER_SCHEMA)
    # Only templates with target errors; the baseline-only KeyError is not one.
    assert clusters["template"].to_list() == [TIMEOUT, BAD_INPUT]
    assert clusters["count"].to_list() == [40, 15]
    assert clusters["baseline_count"].to_list() == [0, 10]
    assert clusters["share"].to_list() == pytest.approx([40 / 55, 15 / 55])


def test_first_and_last_seen_and_examples(case: Case) -> None:
    errors, dims, eu_rows, _ = case
    top = clusters_of(errors, dims, DIMS).row(0, named=True)
    times = dims["start_time"]
    assert top["first_seen"] == times[min(eu_rows)]
    assert top["last_seen"] == times[max(eu_rows)]
    traces = set(dims["trace_id"][eu_rows].to_list())
    assert len(top["examples"]) == 3
    assert len(set(top["examples"])) == 3
    assert set(top["examples"]) <= traces


def test_concentration_names_the_value_holding_the_errors(case: Case) -> None:
    errors, dims, _, _ = case
    clusters = clusters_of(errors, dims, DIMS)
    timeout_row, bad_row = clusters.rows(named=True)
    # All timeouts are in eu (30% of spans): named. service = api is everywhere (lift 1) and
    # the models split the timeouts evenly: not named.
    assert timeout_row["concentrated_in"] == ["region = eu (100%)"]
    assert bad_row["concentrated_in"] == []


def test_concentration_needs_most_of_the_errors_and_a_lift() -> None:
    dims = target_dims()
    # 70% of the template in eu (30% of spans): lift 2.3 -> named with its share.
    eu = [i for i in range(1000) if i % 10 < 3][:14]
    us = [i for i in range(1000) if i % 10 >= 3][:6]
    rows = eu + us
    errors = error_rows(dims, rows, [timeout(i) for i in rows])
    (row,) = clusters_of(errors, dims, DIMS).rows(named=True)
    assert row["concentrated_in"] == ["region = eu (70%)"]
    # 100% in us (70% of spans): most of the errors but lift 1.4 < 2 -> not named.
    errors = error_rows(dims, us, [timeout(i) for i in us])
    (row,) = clusters_of(errors, dims, DIMS).rows(named=True)
    assert row["concentrated_in"] == []
    # 50% in eu: lift 1.7 and under the 60% share -> not named.
    half = eu[:6] + us
    errors = error_rows(dims, half, [timeout(i) for i in half])
    (row,) = clusters_of(errors, dims, DIMS).rows(named=True)
    assert row["concentrated_in"] == []


def test_concentrations_are_ordered_by_lift_and_capped() -> None:
    dims = target_dims().with_columns(
        pl.Series("tool", ["search" if i % 20 == 0 else "fetch" for i in range(1000)]),
        pl.Series("user", ["u1" if i % 100 == 0 else f"u{i % 9 + 2}" for i in range(1000)]),
    )
    # Errors on spans 0, 100, ..., 900: eu, large, tool search (5%), user u1 (1%).
    rows = list(range(0, 1000, 100))
    errors = error_rows(dims, rows, [timeout(i) for i in rows])
    (row,) = clusters_of(errors, dims, [*DIMS, "tool", "user"]).rows(named=True)
    # Lifts: user u1 100x, tool search 20x, region eu 3.3x, model large 2x; top three.
    assert row["concentrated_in"] == [
        "user = u1 (100%)",
        "tool = search (100%)",
        "region = eu (100%)",
    ]


def test_none_and_other_are_never_concentrations() -> None:
    dims = target_dims().with_columns(
        pl.Series("tool", ["(none)" if i % 10 < 3 else "fetch" for i in range(1000)]),
    )
    rows = [i for i in range(1000) if i % 10 < 3][:20]
    errors = error_rows(dims, rows, [timeout(i) for i in rows])
    (row,) = clusters_of(errors, dims, [*DIMS, "tool"]).rows(named=True)
    assert row["concentrated_in"] == ["region = eu (100%)"]


def test_top_limits_the_templates() -> None:
    dims = target_dims()
    messages = [f"Error{k}: something broke" for k in range(5) for _ in range(k + 1)]
    errors = error_rows(dims, list(range(len(messages))), messages)
    clusters = clusters_of(errors, dims, DIMS, top=3)
    assert clusters["template"].to_list() == [
        "Error4: something broke",
        "Error3: something broke",
        "Error2: something broke",
    ]
    assert clusters["count"].to_list() == [5, 4, 3]
    assert clusters["share"].to_list() == pytest.approx([5 / 15, 4 / 15, 3 / 15])


def test_words_that_differ_become_wildcards() -> None:
    dims = target_dims()
    messages = [f"KeyError: missing field {name} in payload" for name in ("a", "b", "c", "a")]
    errors = error_rows(dims, [0, 1, 2, 3], messages)
    clusters = clusters_of(errors, dims, DIMS)
    assert clusters["template"].to_list() == ["KeyError: missing field <*> in payload"]
    assert clusters["count"].to_list() == [4]


def test_no_target_errors_or_no_messages_give_an_empty_table(case: Case) -> None:
    errors, dims, _, _ = case
    empty = pl.DataFrame(schema=CLUSTER_SCHEMA)
    assert_frame_equal(clusters_of(errors.filter(~pl.col("target")), dims, DIMS), empty)
    blank = errors.with_columns(
        pl.when(pl.col("target")).then(pl.lit("")).otherwise(pl.col("message")).alias("message")
    )
    assert_frame_equal(clusters_of(blank, dims, DIMS), empty)
    nulls = errors.with_columns(
        pl.when(pl.col("target")).then(None).otherwise(pl.col("message")).alias("message")
    )
    assert_frame_equal(clusters_of(nulls, dims, DIMS), empty)


def test_error_message_expression() -> None:
    columns = ["error_type", "error_message", "status_message"]
    frame = pl.DataFrame(
        {
            "error_type": ["TimeoutError", "TimeoutError", None, "KeyError", None],
            "error_message": ["took 30s", None, None, None, None],
            "status_message": ["ignored", "deadline exceeded", "HTTP 503", None, None],
        },
        schema={c: POLARS_SCHEMA[c] for c in columns},
    )
    assert frame.select(error_message()).to_series().to_list() == [
        "TimeoutError: took 30s",
        "TimeoutError: deadline exceeded",
        "HTTP 503",
        "KeyError",
        None,
    ]


def test_target_counts_are_per_window() -> None:
    # The same template in both windows: counts split by window, ids shared.
    dims = target_dims()
    rng = np.random.default_rng(0)
    rows = sorted(rng.choice(1000, 25, replace=False).tolist())
    errors = pl.concat(
        [
            error_rows(dims, rows, [timeout(i) for i in rows]),
            baseline_errors([timeout(i) for i in range(1000, 1012)]),
        ]
    )
    (row,) = clusters_of(errors, dims, DIMS).rows(named=True)
    assert (row["template"], row["count"], row["baseline_count"]) == (TIMEOUT, 25, 12)
    assert row["share"] == 1.0


def test_aliases_of_one_span_kind_do_not_crowd_out_the_region() -> None:
    # As in a real trace: a third of the spans are LLM calls, and type, provider and
    # operation all name exactly those spans (lift 3 each). The template fails on LLM calls
    # in eu, 40% of all spans (lift 2.5, above the 2 required). Only the three aliases are
    # listed; the region, the one place that tells something, is cut by the top-3 cap.
    n = 1000
    llm = [i % 3 == 0 for i in range(n)]
    dims = target_dims(n).with_columns(
        pl.Series("region", ["eu" if i % 10 < 4 else "us" for i in range(n)]),
        pl.Series("type", ["llm" if x else "retriever" for x in llm]),
        pl.Series("provider", ["openai" if x else "(none)" for x in llm]),
        pl.Series("operation", ["svc: chat" if x else "svc: retrieve" for x in llm]),
    )
    rows = [i for i in range(n) if llm[i] and i % 10 < 4][:40]
    errors = error_rows(dims, rows, [timeout(i) for i in rows])
    (row,) = clusters_of(errors, dims, ["type", "provider", "operation", "region"]).rows(named=True)
    assert row["concentrated_in"][0] == "type = llm (100%)"  # the aliases qualify...
    assert "region = eu (100%)" in row["concentrated_in"]  # ...and so does the region
