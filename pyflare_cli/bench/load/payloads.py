"""The pool of request bodies a load run sends, built and serialized before the clock starts.

Serializing OTLP costs more than sending it, so a run never encodes during the measurement:
the demo generator's realistic LLM traces are re-batched to exactly ``batch`` spans per
request (as the SDK's BatchSpanProcessor does, regardless of trace boundaries), encoded once
(protobuf or OTLP/JSON) and kept as bytes. Send ``k`` uses pool entry ``k % len(pool)`` in
pass ``k // len(pool)``.

With ``unique_ids`` every pass gets its own trace ids: the first 8 bytes of each trace id
(spans and links alike) become a hash of a per-run random nonce and the pass number, so
ids are distinct across passes and across runs, and a trace split over two requests of
the same pass keeps one id. Without it, the same bodies are re-sent as they are (zero
per-send work; a deduplicating receiver will store each span once). Bodies are gzipped
once at build time, except with ``unique_ids``, where each rewritten body is compressed at
send time (zlib level 1, in a worker thread: zlib releases the GIL).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pyflare_cli.bench.load import trace_ids
from pyflare_cli.demo.generator import generate_requests
from pyflare_cli.sources.otlp_wire import request_to_otlp_json

Encoding = Literal["protobuf", "json"]
GZIP_LEVEL = 1
MIN_POOL_SPANS = 16_384
POOL_BATCHES = 8


def default_pool_spans(batch: int) -> int:
    """Enough spans for variety (16k, or 8 requests when batches are large)."""
    return max(MIN_POOL_SPANS, POOL_BATCHES * batch)


def rebatch(
    requests: Iterable[ExportTraceServiceRequest], batch: int
) -> Iterator[ExportTraceServiceRequest]:
    """The same spans, in order, as requests of exactly ``batch`` spans (the last may be
    smaller). Consecutive spans of one resource and scope share one ResourceSpans/ScopeSpans."""
    if batch <= 0:
        raise ValueError("batch must be positive")
    out = ExportTraceServiceRequest()
    filled = 0
    for request in requests:
        for rs in request.resource_spans:
            out_rs = None
            for ss in rs.scope_spans:
                out_ss = None
                spans = ss.spans
                at = 0
                while at < len(spans):
                    if out_rs is None:
                        out_rs = out.resource_spans.add()
                        out_rs.resource.CopyFrom(rs.resource)
                        out_rs.schema_url = rs.schema_url
                    if out_ss is None:
                        out_ss = out_rs.scope_spans.add()
                        out_ss.scope.CopyFrom(ss.scope)
                        out_ss.schema_url = ss.schema_url
                    take = min(batch - filled, len(spans) - at)
                    out_ss.spans.extend(spans[at : at + take])
                    at += take
                    filled += take
                    if filled == batch:
                        yield out
                        out, filled, out_rs, out_ss = ExportTraceServiceRequest(), 0, None, None
    if filled:
        yield out


@dataclass(frozen=True)
class Payload:
    """One request of the pool: its encoding, span count and trace-id positions."""

    raw: bytes
    """The uncompressed encoding, the template that ids are rewritten in."""
    body: bytes
    """What is sent when ids are not rewritten (``raw``, gzipped if asked)."""
    spans: int
    index: trace_ids.IndexArray


class PayloadPool:
    """Pre-encoded requests and the body of send ``k``."""

    def __init__(
        self,
        payloads: list[Payload],
        *,
        encoding: Encoding,
        gzip: bool,
        unique_ids: bool,
        nonce: bytes | None = None,
    ) -> None:
        if not payloads:
            raise ValueError("a payload pool needs at least one request")
        self.payloads = payloads
        self.encoding: Encoding = encoding
        self.gzip = gzip
        self.unique_ids = unique_ids
        self.nonce = os.urandom(8) if nonce is None else nonce
        self.spans = sum(p.spans for p in payloads)
        self.raw_bytes = sum(len(p.raw) for p in payloads)
        self.body_bytes = sum(len(p.body) for p in payloads)
        self._before = [0]
        for payload in payloads:
            self._before.append(self._before[-1] + payload.spans)

    def __len__(self) -> int:
        return len(self.payloads)

    @property
    def heavy_per_send(self) -> bool:
        """Whether preparing a body costs milliseconds (rewrite, then gzip)."""
        return self.gzip and self.unique_ids

    @property
    def uniqueness(self) -> str:
        """How repeated sends are kept distinct, for the report."""
        if not self.unique_ids:
            return "none: the pool's bodies are re-sent unchanged"
        return "trace ids rewritten per pass over the pool (first 8 bytes; run nonce + pass)"

    def spans_of(self, k: int) -> int:
        return self.payloads[k % len(self.payloads)].spans

    def spans_before(self, k: int) -> int:
        """Spans in sends ``0 .. k-1`` (the pacing clock of a rate-limited run)."""
        passes, at = divmod(k, len(self.payloads))
        return passes * self.spans + self._before[at]

    def sends_before(self, spans: float) -> int:
        """How many sends start before ``spans`` spans have been sent."""
        if spans <= 0:
            return 0
        passes, rest = divmod(spans, self.spans)
        return int(passes) * len(self.payloads) + bisect.bisect_left(
            self._before, rest, hi=len(self)
        )

    def body(self, k: int) -> bytes:
        """The bytes of send ``k``: ids rewritten for its pass and compressed when asked."""
        passes, at = divmod(k, len(self.payloads))
        payload = self.payloads[at]
        if not self.unique_ids:
            return payload.body
        data = trace_ids.rewrite(payload.raw, payload.index, self._prefix(passes))
        return zlib.compress(data, GZIP_LEVEL, wbits=31) if self.gzip else data

    def _prefix(self, passes: int) -> npt.NDArray[np.uint8]:
        digest = hashlib.blake2b(
            self.nonce + passes.to_bytes(8, "big"), digest_size=trace_ids.PROTO_PREFIX_BYTES
        ).digest()
        if self.encoding == "json":
            digest = digest.hex().encode()
        return np.frombuffer(digest, dtype=np.uint8)


def encode(request: ExportTraceServiceRequest, encoding: Encoding) -> tuple[bytes, list[int]]:
    """The request's bytes in ``encoding`` and the offsets of its trace ids."""
    if encoding == "json":
        doc = request_to_otlp_json(request)
        data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
        return data, trace_ids.json_trace_id_offsets(data)
    data = request.SerializeToString()
    return data, trace_ids.proto_trace_id_offsets(data)


def payload_of(request: ExportTraceServiceRequest, encoding: Encoding, gzip: bool) -> Payload:
    raw, offsets = encode(request, encoding)
    width = trace_ids.JSON_PREFIX_CHARS if encoding == "json" else trace_ids.PROTO_PREFIX_BYTES
    body = zlib.compress(raw, GZIP_LEVEL, wbits=31) if gzip else raw
    spans = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    return Payload(raw, body, spans, trace_ids.prefix_index(offsets, width))


def build_pool(
    *,
    batch: int = 512,
    spans: int | None = None,
    encoding: Encoding = "protobuf",
    gzip: bool = False,
    unique_ids: bool = True,
    seed: int = 7,
    end: datetime | None = None,
    days: float = 1.0,
) -> PayloadPool:
    """Generate ``spans`` demo spans (default :func:`default_pool_spans`) ending at ``end``
    (default now), re-batch them to ``batch`` spans per request and encode each once."""
    total = default_pool_spans(batch) if spans is None else spans
    if total <= 0:
        raise ValueError("the pool needs at least one span")
    generated = generate_requests(
        total,
        seed=seed,
        end=end or datetime.now(UTC),
        days=days,
        batch_spans=max(batch, 1_000),
    )
    payloads = [payload_of(request, encoding, gzip) for request in rebatch(generated, batch)]
    return PayloadPool(payloads, encoding=encoding, gzip=gzip, unique_ids=unique_ids)
