"""Normalisation: raw decoded spans -> canonical columns, vectorised over a whole batch."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from pyflare_cli.schema import COLUMNS, POLARS_SCHEMA, empty_frame, to_arrow
from pyflare_cli.sources.normalize import UNKNOWN_SERVICE, normalize
from pyflare_cli.sources.raw import RawBatch


def test_empty_batch_gives_the_canonical_schema() -> None:
    spans = normalize(RawBatch().to_frame())
    assert spans.height == 0
    assert spans.schema == empty_frame().schema
    assert tuple(spans.columns) == COLUMNS


def test_schema_and_arrow_conversion_agree(otlp: Any) -> None:
    spans = otlp.canonical(otlp.request(otlp.span(attributes={"gen_ai.usage.input_tokens": 3})))
    assert spans.schema == pl.Schema(POLARS_SCHEMA)
    table = to_arrow(spans)
    assert table.schema.names == list(COLUMNS)
    back = pl.from_arrow(table)
    assert isinstance(back, pl.DataFrame)
    assert back.schema == spans.schema


def test_attributes_are_kept_promoted_columns_are_copies(otlp: Any) -> None:
    attributes = {"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 5, "x.y": "z"}
    row = otlp.one(attributes)
    assert row["attributes"] == {
        "gen_ai.request.model": "m",
        "gen_ai.usage.input_tokens": "5",
        "x.y": "z",
    }
    assert (row["request_model"], row["input_tokens"]) == ("m", 5)


def test_model_is_the_response_model_else_the_request_model(otlp: Any) -> None:
    both = otlp.one({"gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024"})
    request_only = otlp.one({"gen_ai.request.model": "gpt-4o"})
    assert (both["model"], both["request_model"]) == ("gpt-4o-2024", "gpt-4o")
    assert (request_only["model"], request_only["request_model"]) == ("gpt-4o", "gpt-4o")
    assert otlp.one({})["model"] is None


@pytest.mark.parametrize(
    ("attributes", "total"),
    [
        ({"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5}, 15),
        ({"gen_ai.usage.input_tokens": 10}, 10),
        ({"gen_ai.usage.output_tokens": 4}, 4),
        ({"gen_ai.usage.input_tokens": 1, "gen_ai.usage.total_tokens": 99}, 99),  # as reported
        ({}, None),
    ],
)
def test_total_tokens(otlp: Any, attributes: dict[str, Any], total: int | None) -> None:
    assert otlp.one(attributes)["total_tokens"] == total


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12), (12, 12), (12.0, 12), ("12.0", 12), ("1e3", 1000), ("lots", None), ("", None)],
)
def test_token_counts_are_integers(otlp: Any, value: Any, expected: int | None) -> None:
    assert otlp.one({"gen_ai.usage.input_tokens": value})["input_tokens"] == expected


def test_reported_cost_is_a_float(otlp: Any) -> None:
    assert otlp.one({"gen_ai.usage.cost": "0.0125"})["reported_cost_usd"] == pytest.approx(0.0125)
    assert otlp.one({"gen_ai.usage.cost": "n/a"})["reported_cost_usd"] is None
    langfuse = otlp.one({"langfuse.observation.cost_details": '{"input": 1, "total": 0.5}'})
    assert langfuse["reported_cost_usd"] == 0.5


def test_duration_and_default_service(otlp: Any) -> None:
    row = otlp.canonical(otlp.request(otlp.span(duration_ms=12.5), resource={})).row(0, named=True)
    assert row["duration_ns"] == 12_500_000
    assert row["service_name"] == UNKNOWN_SERVICE


def test_error_message_from_status_only_on_error(otlp: Any) -> None:
    error = otlp.one({}, status=2, status_message="upstream 503")
    ok = otlp.one({}, status=1, status_message="fine")
    assert error["error_message"] == "upstream 503"
    assert ok["error_message"] is None


def test_errors_from_exception_events_and_error_type(otlp: Any) -> None:
    exception = ("exception", 1, {"exception.type": "ValueError", "exception.message": "bad"})
    row = otlp.one({}, events=[exception], status=2, status_message="status text")
    assert (row["error_type"], row["error_message"]) == ("ValueError", "bad")
    # error.type (a span attribute) comes first; the event's message beats the status.
    row = otlp.one({"error.type": "timeout"}, events=[exception])
    assert (row["error_type"], row["error_message"]) == ("timeout", "bad")
    # Events of other names are not looked at.
    other = ("log", 1, {"exception.type": "Nope"})
    assert otlp.one({}, events=[other])["error_type"] is None


def test_embedding_vector(otlp: Any) -> None:
    row = otlp.one({"embedding.embeddings.0.embedding.vector": "[0.5, -1, 2.25]"})
    assert row["embedding"] == [0.5, -1.0, 2.25]
    assert otlp.one({})["embedding"] is None


def test_indexed_keys_join_in_numeric_index_order(otlp: Any) -> None:
    attributes = {f"llm.input_messages.{i}.message.content": f"m{i}" for i in (10, 2, 0, 1)}
    attributes["llm.input_messages.3.message.role"] = "user"  # not content: ignored
    assert otlp.one(attributes)["input_text"] == "m0\nm1\nm2\nm10"


def test_transforms(otlp: Any) -> None:
    row = otlp.one(
        {
            "gen_ai.provider.name": "OpenAI",  # lower
            "gen_ai.response.finish_reasons": ["length", "stop"],  # first of a JSON array
            "llm.invocation_parameters": '{"model": "claude-3", "max_tokens": 5}',  # json:model
            "gen_ai.operation.name": "embeddings",  # map
        }
    )
    assert row["provider"] == "openai"
    assert row["finish_reason"] == "length"
    assert row["request_model"] == "claude-3"
    assert row["ai_kind"] == "embedding"


def test_unknown_mapped_value_gives_way_to_the_next_name(otlp: Any) -> None:
    row = otlp.one({"gen_ai.operation.name": "dance", "traceloop.span.kind": "tool"})
    assert row["ai_kind"] == "tool"
    assert otlp.one({"gen_ai.operation.name": "dance"})["ai_kind"] is None


def test_resource_attributes_feed_columns(otlp: Any) -> None:
    request = otlp.request(
        otlp.span(),
        resource={
            "service.name": "api",
            "service.version": "3.1",
            "deployment.environment": "qa",
            "user.id": "resource-user",
        },
    )
    row = otlp.canonical(request).row(0, named=True)
    assert (row["service_version"], row["environment"], row["user_id"]) == (
        "3.1",
        "qa",
        "resource-user",
    )


def test_many_spans_keep_their_own_values(otlp: Any) -> None:
    spans = [
        otlp.span(f"{i + 1:016x}", attributes={"gen_ai.usage.input_tokens": i} if i % 3 else {})
        for i in range(300)
    ]
    frame = otlp.canonical(otlp.request(*spans))
    expected = [i if i % 3 else None for i in range(300)]
    assert frame["input_tokens"].to_list() == expected
    assert frame["span_id"].to_list() == [f"{i + 1:016x}" for i in range(300)]


def test_promoted_columns_stay_aligned_with_their_spans_in_large_batches() -> None:
    """Joins in Polars do not keep row order unless asked: 60k spans must not shuffle."""
    from pyflare_cli.sources.normalize import normalize
    from pyflare_cli.sources.raw import RawBatch

    batch = RawBatch()
    resource = batch.add_resource([("service.name", "svc")])
    count = 60_000
    for i in range(count):
        batch.trace_id.append(f"{i:032x}")
        batch.span_id.append(f"{i + 1:016x}")
        batch.parent_span_id.append(None)
        batch.name.append(f"span-{i}")
        batch.kind.append("client")
        batch.start_ns.append(1_000_000_000 + i)
        batch.end_ns.append(2_000_000_000 + i)
        batch.status_code.append("unset")
        batch.status_message.append(None)
        batch.scope_name.append(None)
        batch.resource_index.append(resource)
        pairs: list[tuple[str, str | None]] = [("gen_ai.request.model", f"m-{i}")]
        if i % 3 == 0:
            pairs.append(("gen_ai.usage.input_tokens", str(i)))
        batch.attributes.add_row(pairs)
        batch.event_offsets.append(0)
        batch.link_offsets.append(0)
    spans = normalize(batch.to_frame())
    assert spans.height == count
    assert (spans["model"] == spans["name"].str.replace("span-", "m-")).all()
    expected_tokens = pl.Series([i if i % 3 == 0 else None for i in range(count)], dtype=pl.Int64)
    assert spans["input_tokens"].equals(expected_tokens, check_names=False)
