"""The demo generator: deterministic, well-formed OTLP, and the incidents are really there."""

from __future__ import annotations

import base64
import gzip
import json
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from pyflare_cli.demo.generator import generate_requests, to_ns
from pyflare_cli.demo.rag import shift_direction
from pyflare_cli.demo.scenario import DEFAULT_WORLD, EU_WEST, US_EAST
from pyflare_cli.sources.otlp_wire import (
    count_spans,
    read_delimited,
    request_to_otlp_json,
    write_requests,
)

END = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
INC = DEFAULT_WORLD.incidents


@dataclass
class Row:
    service: str
    version: str
    region: str
    env: str
    trace_id: bytes
    span_id: bytes
    parent: bytes
    name: str
    kind: int
    start: int
    end: int
    error: bool
    attrs: dict[str, Any]
    links: list[tuple[bytes, bytes]]
    events: list[str]


def _value(v: Any) -> Any:
    field = v.WhichOneof("value")
    if field == "array_value":
        return tuple(_value(x) for x in v.array_value.values)
    return getattr(v, field)


def rows(requests: list[ExportTraceServiceRequest]) -> list[Row]:
    out = []
    for request in requests:
        for rs in request.resource_spans:
            res = {kv.key: kv.value.string_value for kv in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    out.append(_row(res, s))
    return out


def _row(res: dict[str, str], s: Span) -> Row:
    return Row(
        service=res["service.name"],
        version=res["service.version"],
        region=res["cloud.region"],
        env=res["deployment.environment.name"],
        trace_id=s.trace_id,
        span_id=s.span_id,
        parent=s.parent_span_id,
        name=s.name,
        kind=s.kind,
        start=s.start_time_unix_nano,
        end=s.end_time_unix_nano,
        error=s.status.code == Status.StatusCode.STATUS_CODE_ERROR,
        attrs={kv.key: _value(kv.value) for kv in s.attributes},
        links=[(link.trace_id, link.span_id) for link in s.links],
        events=[e.name for e in s.events],
    )


@pytest.fixture(scope="module")
def requests() -> list[ExportTraceServiceRequest]:
    return list(generate_requests(24_000, seed=3, end=END, batch_spans=4_000))


@pytest.fixture(scope="module")
def spans(requests: list[ExportTraceServiceRequest]) -> list[Row]:
    return rows(requests)


def _bytes(requests: list[ExportTraceServiceRequest]) -> list[bytes]:
    return [r.SerializeToString(deterministic=True) for r in requests]


def test_same_arguments_give_identical_bytes_and_another_seed_differs() -> None:
    first = _bytes(list(generate_requests(3_000, seed=11, end=END, batch_spans=1_000)))
    again = _bytes(list(generate_requests(3_000, seed=11, end=END, batch_spans=1_000)))
    other = _bytes(list(generate_requests(3_000, seed=12, end=END, batch_spans=1_000)))
    assert first == again
    assert first != other


def test_naive_end_means_utc_and_zero_spans_means_nothing() -> None:
    naive = END.replace(tzinfo=None)
    assert _bytes(list(generate_requests(500, end=naive))) == _bytes(
        list(generate_requests(500, end=END))
    )
    assert list(generate_requests(0, end=END)) == []


def test_batch_size_only_regroups_the_same_spans() -> None:
    def span_bytes(batch: int) -> Counter[bytes]:
        found: Counter[bytes] = Counter()
        for request in generate_requests(2_000, seed=5, end=END, batch_spans=batch):
            for rs in request.resource_spans:
                for ss in rs.scope_spans:
                    found.update(s.SerializeToString(deterministic=True) for s in ss.spans)
        return found

    assert span_bytes(300) == span_bytes(100_000)


def test_span_count_and_whole_traces_per_request(requests: list[ExportTraceServiceRequest]) -> None:
    counts = [count_spans(r) for r in requests]
    assert 24_000 <= sum(counts) < 24_000 + 200
    assert all(c >= 4_000 for c in counts[:-1])
    assert all(c < 4_000 + 200 for c in counts)
    owner: dict[bytes, int] = {}
    for i, request in enumerate(requests):
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for s in ss.spans:
                    assert owner.setdefault(s.trace_id, i) == i


def test_resources_and_scopes_are_grouped(requests: list[ExportTraceServiceRequest]) -> None:
    for request in requests:
        keys = [
            tuple(kv.value.string_value for kv in rs.resource.attributes)
            for rs in request.resource_spans
        ]
        assert len(keys) == len(set(keys))
        for rs in request.resource_spans:
            scopes = [ss.scope.name for ss in rs.scope_spans]
            assert len(scopes) == len(set(scopes))


def test_trees_have_one_root_and_children_inside_parents(spans: list[Row]) -> None:
    by_trace: dict[bytes, dict[bytes, Row]] = defaultdict(dict)
    for row in spans:
        by_trace[row.trace_id][row.span_id] = row
    start, end = to_ns(END - timedelta(days=3)), to_ns(END)
    orphans = []
    for trace in by_trace.values():
        assert sum(1 for r in trace.values() if not r.parent) == 1
        for row in trace.values():
            assert start <= row.start < row.end <= end
            if not row.parent:
                continue
            parent = trace.get(row.parent)
            if parent is None:
                orphans.append(row)
                continue
            assert parent.start <= row.start and row.end <= parent.end, row.name
    assert all(o.service == "agent-runtime" and o.name == "POST /v1/agent/invoke" for o in orphans)
    assert len(orphans) <= 0.02 * len(by_trace)


def test_orphans_are_the_deliberate_dropped_gateway_client_spans() -> None:
    world = replace(DEFAULT_WORLD, orphan_rate=0.3)
    found = rows(list(generate_requests(3_000, seed=2, end=END, world=world)))
    ids = {r.span_id for r in found}
    orphans = [r for r in found if r.parent and r.parent not in ids]
    roots = [r for r in found if not r.parent and r.service == "chat-gateway"]
    assert 0.15 * len(roots) < len(orphans) < 0.45 * len(roots)
    assert {(o.service, o.name) for o in orphans} == {("agent-runtime", "POST /v1/agent/invoke")}


def test_services_conventions_and_cross_service_parents(spans: list[Row]) -> None:
    by_id = {r.span_id: r for r in spans}
    services = {r.service for r in spans}
    assert services == {"chat-gateway", "agent-runtime", "rag-api", "batch-evaluator"}
    rag_servers = [r for r in spans if r.service == "rag-api" and r.kind == Span.SPAN_KIND_SERVER]
    for server in rag_servers:
        caller = by_id[server.parent]
        assert (caller.service, caller.kind) == ("agent-runtime", Span.SPAN_KIND_CLIENT)
    kinds = Counter(r.attrs.get("openinference.span.kind") for r in spans if r.service == "rag-api")
    assert {"RETRIEVER", "EMBEDDING", "RERANKER", "LLM"} <= set(kinds)
    ops = Counter(r.attrs.get("gen_ai.operation.name") for r in spans)
    assert {"chat", "invoke_agent", "execute_tool"} <= set(ops)
    vectors = [
        r.attrs["embedding.embeddings.0.embedding.vector"]
        for r in spans
        if "embedding.embeddings.0.embedding.vector" in r.attrs
    ]
    assert vectors and all(len(v) == 16 and isinstance(v[0], float) for v in vectors)
    llm = [r for r in spans if r.attrs.get("gen_ai.operation.name") == "chat" and not r.error]
    assert all(isinstance(r.attrs["gen_ai.response.finish_reasons"], tuple) for r in llm)
    claude = [r for r in llm if r.attrs["gen_ai.request.model"].startswith("claude")]
    assert any(r.attrs["gen_ai.usage.cache_read.input_tokens"] > 0 for r in claude)
    o3 = [r for r in llm if r.attrs["gen_ai.request.model"] == "o3-mini"]
    assert all(
        0 < r.attrs["gen_ai.usage.reasoning.output_tokens"] < r.attrs["gen_ai.usage.output_tokens"]
        for r in o3
    )
    evaluators = [r for r in spans if r.name.startswith("evaluate ")]
    trace_ids = {s.trace_id for s in spans}
    assert evaluators and all(len(r.links) == 1 for r in evaluators)
    assert all(r.links[0][0] in trace_ids and r.links[0][0] != r.trace_id for r in evaluators)
    ends = {(s.trace_id, s.span_id): s.end for s in spans if not s.parent}
    assert all(ends[r.links[0]] < r.start for r in evaluators)


def test_errors_carry_exception_events(spans: list[Row]) -> None:
    failed_llm = [r for r in spans if r.error and r.name.startswith("chat ")]
    assert failed_llm
    assert all("exception" in r.events and "error.type" in r.attrs for r in failed_llm)
    assert any("retry" in r.events for r in spans)


def _rate(rows: list[Row]) -> float:
    return sum(r.error for r in rows) / max(1, len(rows))


def test_rag_deploy_slows_retrieval_and_breaks_gpt_4o_mini_in_eu(spans: list[Row]) -> None:
    deploy = to_ns(INC.rag_deploy.start(END))
    retrieves = [r for r in spans if r.name == "retrieve" and r.env == "prod"]
    before = [r.end - r.start for r in retrieves if r.region == EU_WEST and r.start < deploy]
    after = [r.end - r.start for r in retrieves if r.region == EU_WEST and r.start >= deploy]
    us = [r.end - r.start for r in retrieves if r.region == US_EAST and r.start >= deploy]
    assert 2.3 < statistics.median(after) / statistics.median(before) < 3.7
    assert statistics.median(us) / statistics.median(before) < 1.3
    versions = {r.version for r in retrieves if r.region == EU_WEST and r.start >= deploy}
    assert versions == {"2.0.0"}

    def mini(r: Row) -> bool:
        model = r.attrs.get("gen_ai.request.model", r.attrs.get("llm.model_name"))
        return model == "gpt-4o-mini" and r.env == "prod" and r.region == EU_WEST

    calls = [r for r in spans if mini(r)]
    assert _rate([r for r in calls if r.start < deploy]) < 0.04
    assert 0.13 < _rate([r for r in calls if r.start >= deploy]) < 0.3


def _usage(spans: list[Row]) -> list[Row]:
    return [r for r in spans if "gen_ai.usage.input_tokens" in r.attrs]


def test_claude_prompts_grow_in_the_last_day(spans: list[Row]) -> None:
    drift = to_ns(INC.prompt_drift.start(END))
    claude = [r for r in _usage(spans) if r.attrs["gen_ai.request.model"] == INC.prompt_drift.model]
    tokens = {
        w: [r.attrs["gen_ai.usage.input_tokens"] for r in claude if (r.start >= drift) == w]
        for w in (False, True)
    }
    chars = {
        w: [len(r.attrs["gen_ai.input.messages"]) for r in claude if (r.start >= drift) == w]
        for w in (False, True)
    }
    assert 2.0 < statistics.median(tokens[True]) / statistics.median(tokens[False]) < 3.0
    assert 1.9 < statistics.median(chars[True]) / statistics.median(chars[False]) < 3.1


def test_one_user_spends_on_gpt_4o_in_the_last_day(spans: list[Row]) -> None:
    spike = to_ns(INC.cost_spike.start(END))
    tokens: Counter[tuple[str, bool]] = Counter()
    for r in _usage(spans):
        if r.attrs["gen_ai.request.model"] == "gpt-4o" and "user.id" in r.attrs:
            tokens[(r.attrs["user.id"], r.start >= spike)] += r.attrs["gen_ai.usage.input_tokens"]
    last_day = {u: t for (u, late), t in tokens.items() if late}
    assert max(last_day, key=lambda u: last_day[u]) == INC.cost_spike.user
    assert last_day[INC.cost_spike.user] > 0.5 * sum(last_day.values())
    assert tokens[(INC.cost_spike.user, False)] < 0.2 * last_day[INC.cost_spike.user]


def test_embeddings_shift_in_the_last_day(spans: list[Row]) -> None:
    shift = to_ns(INC.embedding_shift.start(END))
    direction = shift_direction(16)
    key = "embedding.embeddings.0.embedding.vector"
    proj = {
        w: [
            sum(a * b for a, b in zip(r.attrs[key], direction, strict=True))
            for r in spans
            if key in r.attrs and (r.start >= shift) == w
        ]
        for w in (False, True)
    }
    assert statistics.mean(proj[True]) - statistics.mean(proj[False]) > 0.1


def test_traffic_follows_a_daily_cycle(spans: list[Row]) -> None:
    roots = [r for r in spans if not r.parent and r.service == "chat-gateway"]
    hours = Counter((r.start // 3_600_000_000_000) % 24 for r in roots)
    assert hours[15] > 2 * hours[3]


HEX32, HEX16 = re.compile(r"^[0-9a-f]{32}$"), re.compile(r"^[0-9a-f]{16}$")


def test_otlp_json_uses_hex_ids_and_string_int64(requests: list[ExportTraceServiceRequest]) -> None:
    doc = request_to_otlp_json(requests[0])
    json.dumps(doc)
    seen_int = seen_array = seen_bytes = False
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            assert "scope" in ss
            for span in ss["spans"]:
                assert HEX32.match(span["traceId"]) and HEX16.match(span["spanId"])
                assert "parentSpanId" not in span or HEX16.match(span["parentSpanId"])
                assert isinstance(span["kind"], int)
                assert span["startTimeUnixNano"].isdigit()
                for link in span.get("links", ()):
                    assert HEX32.match(link["traceId"]) and HEX16.match(link["spanId"])
                for kv in span.get("attributes", ()):
                    value = kv["value"]
                    if "intValue" in value:
                        assert isinstance(value["intValue"], str)
                        seen_int = True
                    seen_array |= "arrayValue" in value
                    if "bytesValue" in value:
                        base64.b64decode(value["bytesValue"], validate=True)
                        seen_bytes = True
    assert seen_int and seen_array and seen_bytes


def test_otlp_json_matches_protobuf_json_with_hex_ids(
    requests: list[ExportTraceServiceRequest],
) -> None:
    def linked(r: ExportTraceServiceRequest) -> bool:
        return any(s.links for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans)

    request = next(r for r in requests if linked(r))
    expected = MessageToDict(request, use_integers_for_enums=True)
    for rs in expected["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for obj in [span, *span.get("links", ())]:
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in obj:
                            obj[key] = base64.b64decode(obj[key]).hex()
    assert request_to_otlp_json(request) == expected


def _small() -> list[ExportTraceServiceRequest]:
    return list(generate_requests(1_500, seed=9, end=END, batch_spans=400))


def test_jsonl_is_one_request_per_line_and_gz_is_reproducible(tmp_path: Path) -> None:
    requests = _small()
    assert len(requests) > 1
    write_requests(requests, tmp_path / "a.jsonl", "jsonl")
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    assert len(lines) == len(requests)
    assert all(json.loads(line)["resourceSpans"] for line in lines)
    spans = write_requests(requests, tmp_path / "a.jsonl.gz", "jsonl")
    write_requests(_small(), tmp_path / "b.jsonl.gz", "jsonl")
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()
    assert gzip.decompress((tmp_path / "a.jsonl.gz").read_bytes()).decode().splitlines() == lines
    assert spans == sum(count_spans(r) for r in requests)


def test_json_merges_everything_into_one_document(tmp_path: Path) -> None:
    requests = _small()
    assert write_requests(requests, tmp_path / "a.json", "json") == sum(map(count_spans, requests))
    doc = json.loads((tmp_path / "a.json").read_text())
    total = sum(len(ss["spans"]) for rs in doc["resourceSpans"] for ss in rs["scopeSpans"])
    assert total == sum(count_spans(r) for r in requests)


def test_pb_stream_round_trips_and_single_request_is_plain(tmp_path: Path) -> None:
    requests = _small()
    write_requests(requests, tmp_path / "a.pb", "pb")
    parsed = list(read_delimited((tmp_path / "a.pb").read_bytes()))
    assert _bytes(parsed) == _bytes(requests)
    write_requests(requests[:1], tmp_path / "one.pb.gz", "pb")
    single = ExportTraceServiceRequest.FromString(
        gzip.decompress((tmp_path / "one.pb.gz").read_bytes())
    )
    assert _bytes([single]) == _bytes(requests[:1])


@pytest.mark.parametrize(
    ("seed", "end"),
    [
        (7, datetime(2026, 11, 20, 13, tzinfo=UTC)),
        (7, datetime(2025, 4, 2, 17, tzinfo=UTC)),
        (3, datetime(2025, 2, 13, 1, tzinfo=UTC)),
    ],
)
def test_the_tour_trace_has_a_fixed_id_whatever_the_seed_and_end(seed: int, end: datetime) -> None:
    """The README's `trace show feedc0de`: one trace of a default-sized demo, the incident's."""
    from pyflare_cli.demo.generator import TOUR_TRACE_ID

    spans = [
        span
        for request in generate_requests(50_000, seed=seed, end=end)
        for rs in request.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    tour = [span for span in spans if span.trace_id == TOUR_TRACE_ID]
    assert len({span.span_id for span in tour}) == len(tour) > 0
    names = {span.name for span in tour}
    assert {"POST /v1/chat", "retrieve"} <= names
    assert any(span.status.code == Status.STATUS_CODE_ERROR for span in tour)
    assert min(span.start_time_unix_nano for span in tour) >= to_ns(end - timedelta(days=1))
