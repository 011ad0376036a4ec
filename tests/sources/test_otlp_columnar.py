"""The columnar OTLP decoder gives exactly the reference decoder's rows, or leaves the input to it.

The reference is :func:`pyflare_cli.sources.otlp_proto.decode_request` (upb objects, one
Python value per attribute). Compared on the repository's fixtures, the demo's spans, the
real OpenTelemetry SDK's encoder, generated requests with every AnyValue kind and odd
values, and hand-written wire bytes that only a foreign encoder would write.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hostile_traces import record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from polars.testing import assert_frame_equal

from pyflare_cli.demo.generator import generate_requests
from pyflare_cli.sources import otlp_columnar, wire_columns
from pyflare_cli.sources.decoding import Decoded, decode
from pyflare_cli.sources.opening import Format
from pyflare_cli.sources.otlp_proto import decode_request
from pyflare_cli.sources.otlp_wire import varint
from pyflare_cli.sources.raw import RawBatch
from pyflare_cli.sources.tasks import Task, split


def reference(payloads: list[bytes]) -> tuple[pl.DataFrame, int]:
    """The reference's raw frame and its number of dead letters."""
    batch = RawBatch()
    dead = 0
    for payload in payloads:
        dead += len(decode_request(ExportTraceServiceRequest.FromString(payload), batch, "x", "r"))
    return batch.to_frame(), dead


COMPILED = otlp_columnar.compiled_decoder()
FAST = [otlp_columnar.decode_requests] + ([COMPILED] if COMPILED is not None else [])
"""The fast decoders: NumPy's, and the compiled one where numba is installed (the suite's
environment has it: ``test_the_compiled_decoder_is_installed_here``)."""


def assert_same(payloads: list[bytes]) -> bool:
    """Each fast decoder agrees with the reference; returns whether they took the input.

    Both must take it or both leave it (to the reference): so the compiled decoder cannot
    pass by always falling back.
    """
    expected, dead = reference(payloads)
    took = []
    for fast in FAST:
        try:
            got = fast(payloads)
        except otlp_columnar.Unsupported:
            took.append(False)
            continue
        assert dead == 0, "the fast path must leave spans with dead letters to the reference"
        assert_frame_equal(got, expected)
        took.append(True)
    assert len(set(took)) == 1, f"one decoder took the input, the other not: {took}"
    return took[0]


@pytest.fixture
def reference_decoder(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PYFLARE_OTLP_DECODER", "reference")
    yield


def both_ways(task: Task, monkeypatch: pytest.MonkeyPatch) -> tuple[Decoded, Decoded]:
    """The task decoded by the reference, and by the default path (the NumPy decoder),
    after checking that the compiled decoder gives the same as the default."""
    monkeypatch.setenv("PYFLARE_OTLP_DECODER", "numba")
    compiled_way = decode(task)
    monkeypatch.setenv("PYFLARE_OTLP_DECODER", "reference")
    slow = decode(task)
    monkeypatch.delenv("PYFLARE_OTLP_DECODER")
    fast = decode(task)
    assert_decoded_equal(compiled_way, fast)
    return slow, fast


def assert_decoded_equal(slow: Decoded, fast: Decoded) -> None:
    assert_frame_equal(fast.spans, slow.spans)
    assert [d.to_json() for d in fast.dead] == [d.to_json() for d in slow.dead]
    assert fast.skipped == slow.skipped


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("trace.pb", Format.OTLP_PROTO),
        ("stream.pb", Format.OTLP_PROTO_STREAM),
        ("collector-proto.bin", Format.COLLECTOR_FRAMED),
        ("collector-proto-zstd.bin", Format.COLLECTOR_FRAMED),
    ],
)
def test_every_protobuf_fixture(
    fixtures_dir: Path, name: str, fmt: Format, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = fixtures_dir / "otlp" / name
    for task in split(path, fmt, name):
        slow, fast = both_ways(task, monkeypatch)
        assert fast.spans.height > 0
        assert_decoded_equal(slow, fast)
    payloads = [p for t in split(path, fmt, name) for _, p in t.payloads()]
    if fmt is not Format.COLLECTOR_FRAMED:
        assert assert_same(payloads)


def test_the_demo_spans() -> None:
    requests = generate_requests(3_000, seed=3, end=datetime(2026, 11, 1, tzinfo=UTC))
    payloads = [r.SerializeToString() for r in requests]
    assert assert_same(payloads)
    assert assert_same(payloads[:1])


def test_the_opentelemetry_sdk_encoder() -> None:
    """Spans from the real SDK and its OTLP encoder: links, exception events, odd text."""
    assert assert_same([record(5), record(1)])


# Every AnyValue kind, nested, with the values that format differently in each language.
scalars = st.one_of(
    st.builds(lambda v: AnyValue(string_value=v), st.text(max_size=30)),
    st.builds(lambda v: AnyValue(string_value=v), st.sampled_from(["", "é", "\u0000", '"q"\\'])),
    st.builds(lambda v: AnyValue(int_value=v), st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda v: AnyValue(bool_value=v), st.booleans()),
    st.builds(lambda v: AnyValue(double_value=v), st.floats()),
    st.builds(
        lambda v: AnyValue(double_value=v),
        st.sampled_from([0.0, -0.0, 1.0, 1e-4, 9.99e-5, 1e9, 1e16, 1e300, 5e-324, math.inf]),
    ),
    st.builds(lambda v: AnyValue(bytes_value=v), st.binary(max_size=20)),
    st.just(AnyValue()),
)


def _array(items: list[AnyValue]) -> AnyValue:
    value = AnyValue()
    value.array_value.values.extend(items)
    return value


def _kvlist(items: list[tuple[str, AnyValue]]) -> AnyValue:
    value = AnyValue()
    for key, item in items:
        value.kvlist_value.values.add(key=key).value.CopyFrom(item)
    return value


any_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(_array),
        st.lists(st.tuples(st.text(max_size=6), inner), max_size=3).map(_kvlist),
    ),
    max_leaves=10,
)
attributes = st.lists(st.tuples(st.text(max_size=12), any_values), max_size=6)
ids = st.binary(min_size=16, max_size=16).filter(any)
span_ids = st.binary(min_size=8, max_size=8).filter(any)
START = 1_700_000_000_000_000_000


@st.composite
def requests(draw: st.DrawFn, valid: bool = True) -> bytes:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 3))):
        rs = request.resource_spans.add()
        if draw(st.booleans()):
            for key, value in draw(attributes):
                rs.resource.attributes.add(key=key).value.CopyFrom(value)
        for _ in range(draw(st.integers(0, 3))):
            ss = rs.scope_spans.add()
            if draw(st.booleans()):
                ss.scope.name = draw(st.text(max_size=10))
                ss.scope.version = draw(st.text(max_size=4))
            for _ in range(draw(st.integers(0, 4))):
                span = ss.spans.add()
                span.trace_id = draw(ids if valid else st.binary(max_size=17))
                span.span_id = draw(span_ids if valid else st.binary(max_size=9))
                span.parent_span_id = draw(st.one_of(st.just(b""), span_ids))
                span.trace_state = draw(st.text(max_size=5))
                span.name = draw(st.text(max_size=20))
                span.kind = draw(st.integers(-(2**31), 2**31 - 1))
                span.start_time_unix_nano = draw(st.integers(1, 2**63 - 1 if valid else 2**64 - 1))
                span.end_time_unix_nano = draw(
                    st.integers(span.start_time_unix_nano, 2**63 - 1)
                    if valid
                    else st.integers(0, 2**64 - 1)
                )
                if draw(st.booleans()):
                    span.status.code = draw(st.integers(-(2**31), 2**31 - 1))
                    span.status.message = draw(st.text(max_size=10))
                for key, value in draw(attributes):
                    span.attributes.add(key=key).value.CopyFrom(value)
                for _ in range(draw(st.integers(0, 2))):
                    event = span.events.add(
                        time_unix_nano=draw(st.integers(0, 2**63 - 1)), name=draw(st.text())
                    )
                    for key, value in draw(attributes):
                        event.attributes.add(key=key).value.CopyFrom(value)
                for _ in range(draw(st.integers(0, 2))):
                    link = span.links.add(
                        trace_id=draw(st.binary(max_size=17)), span_id=draw(st.binary(max_size=9))
                    )
                    for key, value in draw(attributes):
                        link.attributes.add(key=key).value.CopyFrom(value)
    return request.SerializeToString()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(requests(), min_size=1, max_size=3))
def test_generated_valid_requests_take_the_fast_path_with_the_same_rows(
    payloads: list[bytes],
) -> None:
    assert assert_same(payloads)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(requests(valid=False), min_size=1, max_size=2))
def test_generated_requests_with_bad_spans_are_left_to_the_reference(
    payloads: list[bytes],
) -> None:
    assert_same(payloads)  # either the same rows, or Unsupported (a dead letter to write)


def test_huge_strings_and_many_attributes() -> None:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    for index in range(300):  # enough messages for the vectorised walk, then a long tail
        span = spans.add(
            trace_id=(index + 1).to_bytes(16, "big"),
            span_id=(index + 1).to_bytes(8, "big"),
            name=f"s{index}",
            start_time_unix_nano=START,
            end_time_unix_nano=START + 1,
        )
        for key in range(index % 7 if index < 290 else 400):
            span.attributes.add(key=f"k{key}", value=AnyValue(string_value="x" * (key * 50)))
    span.attributes.add(key="big", value=AnyValue(string_value="é" * 3_000_000))
    assert assert_same([request.SerializeToString()])


def _field(number: int, wire: int, body: bytes) -> bytes:
    tag = varint(number << 3 | wire)
    return tag + (varint(len(body)) + body if wire == 2 else body)


def _span_bytes(*extra: bytes, name: bytes = b"n") -> bytes:
    return b"".join(
        [
            _field(1, 2, bytes(range(1, 17))),
            _field(2, 2, bytes(range(1, 9))),
            _field(5, 2, name),
            _field(7, 1, START.to_bytes(8, "little")),
            _field(8, 1, (START + 5).to_bytes(8, "little")),
            *extra,
        ]
    )


def _request(span: bytes) -> bytes:
    return _field(1, 2, _field(2, 2, _field(2, 2, span)))


@pytest.mark.parametrize(
    "span",
    [
        _span_bytes(_field(5, 2, b"second name")),  # repeated singular field: last one wins
        _span_bytes(_field(6, 2, b"x")),  # kind with another wire type: an unknown field
        _span_bytes(_field(99, 3, b"") + _field(99, 4, b"")),  # an unknown group
        _span_bytes(_field(9, 2, _field(2, 2, _field(3, 0, b"\x01") + _field(1, 2, b"s")))),
        _span_bytes(_field(9, 2, _field(2, 2, _field(1, 0, b"\x05")))),  # value of a wrong type
        _span_bytes(_field(9, 2, _field(1, 2, b"k") + _field(1, 2, b"k2"))),  # two keys
        _span_bytes(_field(9, 2, _field(1, 2, b"k"))),  # no value at all
        _span_bytes(_field(9, 2, _field(2, 2, _field(3, 0, b"\xff" * 9 + b"\x01")))),  # int -1
        _span_bytes(_field(6, 0, b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01")),  # 10-byte kind
        _span_bytes(_field(6, 0, b"\x82\x80\x00")),  # an overlong varint for 2
        _span_bytes(_field(6, 0, varint(2**32 + 2))),  # int32 enums keep the low 32 bits
        _span_bytes(_field(15, 2, _field(3, 0, varint(2**33 + 1)))),
        _span_bytes(_field(15, 2, _field(3, 0, b"\x02") + _field(2, 2, b"boom"))),
        _span_bytes(_field(12, 0, b"\x07") + _field(16, 5, b"\x01\x00\x00\x00")),
        _span_bytes(name=b""),
    ],
)
def test_foreign_wire_bytes(span: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes the Python encoder never writes: same rows whichever path reads them."""
    payload = _request(span)
    assert_same([payload])
    task = Task("x", Format.OTLP_PROTO, [("request 0", payload)])
    slow, fast = both_ways(task, monkeypatch)
    assert slow.spans.height == 1
    assert_decoded_equal(slow, fast)


def test_invalid_utf8_and_broken_requests_are_dead_letters_either_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = _request(_span_bytes())
    bad_text = _request(_span_bytes(name=b"\xff\xfe"))
    bad_span = _request(_span_bytes(_field(2, 2, b"\x00" * 8)))  # a zero span id, last wins
    task = Task(
        "x",
        Format.OTLP_PROTO,
        [("r0", good), ("r1", bad_text), ("r2", good[:-3]), ("r3", bad_span), ("r4", good)],
    )
    slow, fast = both_ways(task, monkeypatch)
    assert slow.spans.height == 2
    assert [d.position.split(",")[0] for d in slow.dead] == ["r1", "r2", "r3"]
    assert_decoded_equal(slow, fast)


def test_the_reference_runs_when_asked(
    reference_decoder: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    called: list[int] = []

    def fail(payloads: list[bytes]) -> Any:
        called.append(len(payloads))
        raise AssertionError("the fast path ran")

    monkeypatch.setattr(otlp_columnar, "decode_requests", fail)
    decoded = decode(Task("x", Format.OTLP_PROTO, [("r", _request(_span_bytes()))]))
    assert decoded.spans.height == 1 and called == []
    assert os.environ["PYFLARE_OTLP_DECODER"] == "reference"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=40))
def test_varints_match_python(values: list[int]) -> None:
    data = b"".join(varint(v) for v in values) + bytes(wire_columns.PAD)
    buf = np.frombuffer(data, np.uint8)
    starts = np.cumsum([0] + [len(varint(v)) for v in values])[:-1].astype(np.int64)
    got, sizes = wire_columns.varints(buf, starts)
    assert got.tolist() == values
    assert sizes.tolist() == [len(varint(v)) for v in values]


def test_a_collector_task_mixing_json_and_protobuf_keeps_its_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Protobuf messages before a JSON one go in first; the rest may take the fast path."""
    first, second = _request(_span_bytes(name=b"first")), _request(_span_bytes(name=b"third"))
    document = (
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10",'
        b'"spanId":"0102030405060708","name":"second","startTimeUnixNano":"5","endTimeUnixNano":"6"}]}]}]}'
    )
    task = Task(
        "x",
        Format.COLLECTOR_FRAMED,
        [("m0", first), ("m1", b"{not json"), ("m2", document), ("m3", second), ("m4", b"\xff")],
    )
    slow, fast = both_ways(task, monkeypatch)
    assert slow.spans["name"].to_list() == ["first", "second", "third"]
    assert [d.position for d in slow.dead] == ["m1", "m4"]
    assert_decoded_equal(slow, fast)


def test_the_compiled_decoder_is_installed_here() -> None:
    """numba is in the test extra, so every comparison above covers the compiled decoder."""
    assert COMPILED is not None and len(FAST) == 2


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which decoder each decode call used: 'numpy' or 'compiled'."""
    ran: list[str] = []
    numpy_decoder, compiled = otlp_columnar.decode_requests, COMPILED
    assert compiled is not None

    def numpy_way(payloads: list[bytes]) -> pl.DataFrame:
        ran.append("numpy")
        return numpy_decoder(payloads)

    def compiled_way(payloads: list[bytes]) -> pl.DataFrame:
        ran.append("compiled")
        return compiled(payloads)

    monkeypatch.setattr(otlp_columnar, "decode_requests", numpy_way)
    monkeypatch.setattr(otlp_columnar, "compiled_decoder", lambda: compiled_way)
    return ran


@pytest.mark.parametrize(
    ("setting", "numba_installed", "expected"),
    [
        (None, True, ["numpy"]),  # the compiled decoder is opt-in (docs/ingest.md)
        ("numba", True, ["compiled"]),
        ("columnar", True, ["numpy"]),
        ("numpy", True, ["numpy"]),
        ("numba", False, ["numpy"]),  # asked for, but numba is not installed
        ("reference", True, []),
    ],
)
def test_which_decoder_runs(
    setting: str | None, numba_installed: bool, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = _spy(monkeypatch)
    if not numba_installed:
        monkeypatch.setattr(otlp_columnar, "compiled_decoder", lambda: None)
    if setting is None:
        monkeypatch.delenv("PYFLARE_OTLP_DECODER", raising=False)
    else:
        monkeypatch.setenv("PYFLARE_OTLP_DECODER", setting)
    payload = _request(_span_bytes())
    decoded = decode(Task("x", Format.OTLP_PROTO, [("r", payload)]))
    assert ran == expected
    expected_frame, _ = reference([payload])
    assert decoded.spans.height == 1 and expected_frame.height == 1


def test_without_numba_the_module_is_not_importable_and_ingest_still_works(
    tmp_path: Path,
) -> None:
    """A fresh process where `import numba` fails: the NumPy decoder gives the same rows."""
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\n"
        "sys.modules['numba'] = None  # import numba raises ImportError\n"
        "from pyflare_cli.sources import otlp_columnar\n"
        "assert otlp_columnar.compiled_decoder() is None\n"
        "assert otlp_columnar.fast_decoder() is otlp_columnar.decode_requests\n"
        "print('ok')\n"
    )
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_more_items_than_the_compiled_decoder_guessed() -> None:
    """Thousands of 2-byte key/values (no key, no value) overflow the tables the compiled
    walk sizes from the bytes: it counts, walks again, and still gives the same rows."""
    empty_pair = _field(9, 2, b"")
    payload = _request(_span_bytes(empty_pair * 5_000, _field(9, 2, _field(1, 2, b"k"))))
    assert assert_same([payload, payload])
