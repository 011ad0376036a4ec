"""Building OTLP spans fast: ids, typed attributes, events, errors, and request assembly.

The trace shapes (``agent.py``, ``rag.py``, ``evals.py``) describe *what* happens; this module
turns it into protobuf with as little Python per field as possible: spans are created in place
inside the request being filled (``ScopeSpans.spans.add()``, no copies), attributes are set on
the added ``KeyValue`` directly, and each ``Resource`` is built once per run and copied in.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from pyflare_cli.demo.scenario import SCOPE_VERSIONS, ErrorKind, World

AttrValue = str | bool | int | float | bytes | tuple[str, ...] | tuple[float, ...]
Attrs = Sequence[tuple[str, AttrValue]]
ResourceKey = tuple[str, str, str, str]
"""(service.name, service.version, deployment.environment.name, cloud.region)."""

INTERNAL = Span.SpanKind.SPAN_KIND_INTERNAL
SERVER = Span.SpanKind.SPAN_KIND_SERVER
CLIENT = Span.SpanKind.SPAN_KIND_CLIENT
SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"


def ns(ms: float) -> int:
    """Milliseconds to integer nanoseconds."""
    return int(ms * 1_000_000)


def put(span: Span, attrs: Iterable[tuple[str, AttrValue]]) -> None:
    """Append attributes, choosing the ``AnyValue`` field from the Python type."""
    add = span.attributes.add
    for key, value in attrs:
        kv = add()
        kv.key = key
        _set(kv.value, value)


def _set(any_value: AnyValue, value: AttrValue) -> None:
    if isinstance(value, str):
        any_value.string_value = value
    elif isinstance(value, bool):
        any_value.bool_value = value
    elif isinstance(value, int):
        any_value.int_value = value
    elif isinstance(value, float):
        any_value.double_value = value
    elif isinstance(value, bytes):
        any_value.bytes_value = value
    else:
        values = any_value.array_value.values
        for item in value:
            _set(values.add(), item)


def event(span: Span, name: str, time_ns: int, attrs: Attrs = ()) -> None:
    ev = span.events.add()
    ev.time_unix_nano = time_ns
    ev.name = name
    add = ev.attributes.add
    for key, value in attrs:
        kv = add()
        kv.key = key
        _set(kv.value, value)


def fail(
    span: Span, kind: ErrorKind, time_ns: int, message: str, stack: str, error_type: bool = True
) -> None:
    """Mark ``span`` as failed: ERROR status, ``error.type``, and an ``exception`` event."""
    span.status.code = Status.StatusCode.STATUS_CODE_ERROR
    span.status.message = f"{kind.type}: {message}"
    if error_type:
        put(span, (("error.type", kind.type),))
    event(
        span,
        "exception",
        time_ns,
        (
            ("exception.type", kind.exception_type),
            ("exception.message", message),
            ("exception.stacktrace", stack),
        ),
    )


def http_error(span: Span, status: int) -> None:
    """An HTTP span answered with a 5xx/4xx: status ERROR, ``error.type`` = the code."""
    span.status.code = Status.StatusCode.STATUS_CODE_ERROR
    put(span, (("error.type", str(status)),))


class RequestBuilder:
    """Fills one ``ExportTraceServiceRequest`` grouped by resource and scope."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._resources: dict[ResourceKey, Resource] = {}
        self._reset()

    def _reset(self) -> None:
        self.request = ExportTraceServiceRequest()
        self._resource_spans: dict[ResourceKey, ResourceSpans] = {}
        self._scopes: dict[tuple[ResourceKey, str], ScopeSpans] = {}
        self.span_count = 0

    def scope_spans(self, resource: ResourceKey, scope: str) -> ScopeSpans:
        """The request's ``ScopeSpans`` for (resource, scope), created on first use."""
        found = self._scopes.get((resource, scope))
        if found is not None:
            return found
        rs = self._resource_spans.get(resource)
        if rs is None:
            rs = self.request.resource_spans.add()
            rs.resource.CopyFrom(self._resource(resource))
            rs.schema_url = SCHEMA_URL
            self._resource_spans[resource] = rs
        ss = rs.scope_spans.add()
        ss.scope.name = scope
        ss.scope.version = SCOPE_VERSIONS[scope]
        self._scopes[(resource, scope)] = ss
        return ss

    def finish(self) -> ExportTraceServiceRequest:
        request = self.request
        self._reset()
        return request

    def _resource(self, key: ResourceKey) -> Resource:
        found = self._resources.get(key)
        if found is not None:
            return found
        service, version, env, region = key
        svc = self._world.service(service)
        resource = Resource()
        put_resource = (
            ("service.name", service),
            ("service.namespace", "support"),
            ("service.version", version),
            ("deployment.environment.name", env),
            ("cloud.provider", "aws"),
            ("cloud.region", region),
            ("telemetry.sdk.name", "opentelemetry"),
            ("telemetry.sdk.language", svc.sdk_language),
            ("telemetry.sdk.version", svc.sdk_version),
        )
        for k, v in put_resource:
            kv = resource.attributes.add()
            kv.key = k
            kv.value.string_value = v
        self._resources[key] = resource
        return resource


@dataclass
class Trace:
    """One trace being built: where it runs, who asked, and which incidents apply."""

    world: World
    rng: random.Random
    builder: RequestBuilder
    env: str
    region: str
    versions: dict[str, str]
    user: str = ""
    session: str = ""
    trace_id: bytes = b""
    rag_deployed: bool = False
    model_degraded: bool = False
    prompt_drift: bool = False
    cost_spike: bool = False
    embedding_shift: bool = False
    spans: list[Span] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.trace_id:
            self.trace_id = self.rng.getrandbits(128).to_bytes(16, "big")

    def new_span_id(self) -> bytes:
        return self.rng.getrandbits(64).to_bytes(8, "big")

    def start(
        self, service: str, scope: str, name: str, kind: int, parent: bytes, start_ns: int
    ) -> Span:
        """Open a span (parent ``b""`` for a root); the caller sets its end and attributes."""
        key = (service, self.versions[service], self.env, self.region)
        span = self.builder.scope_spans(key, scope).spans.add()
        span.trace_id = self.trace_id
        span.span_id = self.new_span_id()
        if parent:
            span.parent_span_id = parent
        span.name = name
        span.kind = kind  # type: ignore[assignment]
        span.start_time_unix_nano = start_ns
        self.spans.append(span)
        return span
