"""Hypothesis strategies for hostile OTLP bodies, shared by the fuzz tests and the long run.

Four families: OTLP/JSON documents of the right shape with wrong, odd or huge values;
valid protobuf requests with bytes flipped, cut or inserted; protobuf requests built from
generated field values (times past int64, empty ids...); and random bytes.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

START = 1_700_000_000_000_000_000

odd_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -1, 0, 1e308, -0.0]),
)
odd_scalars = st.one_of(
    st.none(),
    st.booleans(),
    odd_numbers,
    st.text(max_size=40),
    odd_numbers.map(str),
    st.sampled_from(["", "NaN", "1e400", "0x10", "٣", "\u0000", "SPAN_KIND_SERVER", "ERROR"]),
)
json_values = st.recursive(
    odd_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=12), inner, max_size=4),
    ),
    max_leaves=12,
)
hex_ids = st.one_of(
    st.integers(min_value=0, max_value=2**128 - 1).map(lambda n: f"{n:032x}"),
    st.integers(min_value=0, max_value=2**64 - 1).map(lambda n: f"{n:016x}"),
    st.binary(min_size=0, max_size=20).map(lambda b: __import__("base64").b64encode(b).decode()),
)
times = st.one_of(
    st.integers(min_value=START, max_value=START + 10**12).map(str),
    odd_numbers,
    odd_numbers.map(str),
    st.none(),
)
any_values = st.recursive(
    st.one_of(
        st.builds(lambda v: {"stringValue": v}, st.one_of(st.text(max_size=30), json_values)),
        st.builds(lambda v: {"intValue": v}, st.one_of(odd_numbers, odd_numbers.map(str))),
        st.builds(lambda v: {"doubleValue": v}, odd_numbers),
        st.builds(lambda v: {"boolValue": v}, odd_scalars),
        st.builds(lambda v: {"bytesValue": v}, st.text(max_size=12)),
        json_values,
    ),
    lambda inner: st.one_of(
        st.builds(lambda vs: {"arrayValue": {"values": vs}}, st.lists(inner, max_size=3)),
        st.builds(
            lambda kvs: {"kvlistValue": {"values": kvs}},
            st.lists(st.fixed_dictionaries({"key": st.text(max_size=8), "value": inner})),
        ),
    ),
    max_leaves=8,
)
attributes = st.one_of(
    st.lists(
        st.fixed_dictionaries(
            {"key": st.one_of(st.text(max_size=20), odd_scalars), "value": any_values}
        ),
        max_size=4,
    ),
    json_values,
)


def _maybe(field: str, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), strategy.map(lambda v: {field: v}))


spans = st.builds(
    lambda *parts: {k: v for part in parts for k, v in part.items()},
    st.fixed_dictionaries({"traceId": hex_ids, "spanId": hex_ids}),
    _maybe("parentSpanId", st.one_of(hex_ids, odd_scalars)),
    _maybe("name", st.one_of(st.text(max_size=30), json_values)),
    _maybe("kind", odd_scalars),
    st.fixed_dictionaries({"startTimeUnixNano": times, "endTimeUnixNano": times}),
    _maybe("attributes", attributes),
    _maybe(
        "status",
        st.one_of(
            st.fixed_dictionaries({"code": odd_scalars, "message": json_values}), json_values
        ),
    ),
    _maybe(
        "events",
        st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {"timeUnixNano": times, "name": json_values, "attributes": attributes}
                ),
                max_size=3,
            ),
            json_values,
        ),
    ),
    _maybe(
        "links",
        st.lists(st.fixed_dictionaries({"traceId": hex_ids, "spanId": hex_ids}), max_size=2),
    ),
)
json_documents = st.builds(
    lambda resource, scope, span_list: {
        "resourceSpans": [
            {
                "resource": {"attributes": resource},
                "scopeSpans": [{"scope": scope, "spans": span_list}],
            }
        ]
    },
    attributes,
    st.one_of(st.fixed_dictionaries({"name": odd_scalars}), json_values),
    st.lists(spans, max_size=4),
)


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


json_bodies = st.one_of(
    json_documents.map(lambda d: __import__("json").dumps(d).encode()),
    st.integers(min_value=100, max_value=3000).map(lambda n: deep_json(n).encode()),
    json_values.map(lambda d: __import__("json").dumps(d).encode()),
    st.binary(max_size=200),
)


def valid_request(count: int = 3) -> bytes:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for index in range(count):
        span = scope.spans.add()
        span.trace_id = (index + 1).to_bytes(16, "big")
        span.span_id = (index + 1).to_bytes(8, "big")
        span.name = f"span {index}"
        span.start_time_unix_nano = START + index
        span.end_time_unix_nano = START + index + 1000
        span.attributes.add(key="k", value={"string_value": "v" * index})
        span.events.add(time_unix_nano=START + index, name="e")
    return request.SerializeToString()


VALID = valid_request()


@st.composite
def mutated_protobuf(draw: st.DrawFn) -> bytes:
    """A valid request with a few bytes flipped, cut or inserted."""
    data = bytearray(VALID)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "set"]))
        if action == "flip" and data:
            data[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif action == "cut":
            del data[position : position + draw(st.integers(min_value=1, max_value=8))]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif data:
            data[position] = draw(st.integers(min_value=0, max_value=255))
    return bytes(data)


@st.composite
def generated_protobuf(draw: st.DrawFn) -> bytes:
    """A request built from generated field values: every uint64 and byte length goes."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        span = scope.spans.add()
        span.trace_id = draw(st.binary(max_size=20))
        span.span_id = draw(st.binary(max_size=10))
        span.parent_span_id = draw(st.binary(max_size=10))
        span.name = draw(st.text(max_size=20))
        span.kind = draw(st.integers(min_value=-5, max_value=10))
        span.start_time_unix_nano = draw(st.integers(min_value=0, max_value=2**64 - 1))
        span.end_time_unix_nano = draw(
            st.one_of(
                st.integers(min_value=0, max_value=2**64 - 1),
                st.just(span.start_time_unix_nano),
            )
        )
        span.status.code = draw(st.integers(min_value=-3, max_value=5))
        span.status.message = draw(st.text(max_size=10))
        for time_ns in draw(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=2)):
            span.events.add(time_unix_nano=time_ns, name="e")
        value = span.attributes.add(key=draw(st.text(max_size=8))).value
        choice = draw(st.sampled_from(["double", "int", "bytes", "array"]))
        if choice == "double":
            value.double_value = draw(st.floats())
        elif choice == "int":
            value.int_value = draw(st.integers(min_value=-(2**63), max_value=2**63 - 1))
        elif choice == "bytes":
            value.bytes_value = draw(st.binary(max_size=10))
        else:
            value.array_value.values.add().string_value = draw(st.text(max_size=5))
    return request.SerializeToString()


protobuf_bodies = st.one_of(mutated_protobuf(), generated_protobuf(), st.binary(max_size=300))
