"""Where spans go: the exporter ``init(export=..., endpoint=..., api_key=...)`` asks for.

Explicit arguments win, then the standard OpenTelemetry variables, then pyflare's defaults:

- ``export``: ``"http"`` (OTLP/HTTP protobuf, the default), ``"grpc"``, ``"file://PATH"``
  (OTLP JSON Lines for ``pyflare ingest``), ``"console"``, ``"none"``, or a ``SpanExporter``.
  Unset: ``$PYFLARE_EXPORT``, else ``$OTEL_TRACES_EXPORTER`` (otlp, console, none) with
  ``$OTEL_EXPORTER_OTLP_TRACES_PROTOCOL``/``$OTEL_EXPORTER_OTLP_PROTOCOL`` (http/protobuf, grpc).
- ``endpoint``: a base URL (``/v1/traces`` is added for HTTP) or the full traces URL. Unset:
  ``$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``/``$OTEL_EXPORTER_OTLP_ENDPOINT`` as the exporters
  read them, else a local ``pyflare receive``: ``http://127.0.0.1:4318`` (``127.0.0.1:4317``
  for gRPC); the receiver binds IPv4 loopback, and ``localhost`` may resolve to ``::1``.
- ``api_key``: sent as ``Authorization: Bearer <key>`` (what ``pyflare receive --api-key``
  checks), with the headers of ``$OTEL_EXPORTER_OTLP_[TRACES_]HEADERS``. Unset:
  ``$PYFLARE_API_KEY``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

from pyflare.jsonl import JsonLinesExporter

HTTP_DEFAULT = "http://127.0.0.1:4318"
GRPC_DEFAULT = "http://127.0.0.1:4317"
EXPORTS = ("http", "grpc", "file://PATH", "console", "none")


@dataclass(frozen=True)
class Target:
    """The resolved export: what it is, for messages, and the exporter (None: nothing)."""

    description: str
    exporter: SpanExporter | None


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _choice_from_env() -> str:
    explicit = _env("PYFLARE_EXPORT")
    if explicit:
        return explicit
    exporter = (_env("OTEL_TRACES_EXPORTER") or "otlp").split(",")[0].strip().lower()
    if exporter in ("none", "console"):
        return exporter
    protocol = _env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
    return "grpc" if protocol == "grpc" else "http"


def _env_headers() -> dict[str, str]:
    raw = _env("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS") or ""
    headers: dict[str, str] = {}
    for pair in raw.split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            headers[unquote(key.strip()).lower()] = unquote(value.strip())
    return headers


def _headers(api_key: str | None) -> dict[str, str] | None:
    key = api_key or _env("PYFLARE_API_KEY")
    if key is None:
        return None  # the exporter reads the OTEL_* headers itself
    return {**_env_headers(), "authorization": f"Bearer {key}"}


def http_url(endpoint: str) -> str:
    """``endpoint`` as the full OTLP/HTTP traces URL: a bare base gets ``/v1/traces``."""
    if "://" not in endpoint:
        endpoint = "http://" + endpoint
    path = urlsplit(endpoint).path
    if path in ("", "/"):
        return endpoint.rstrip("/") + "/v1/traces"
    return endpoint


def file_path(export: str) -> str:
    """The path of a ``file://`` export: ``file://traces.jsonl`` or ``file:///abs/t.jsonl``."""
    path = export.removeprefix("file://")
    if not path:
        raise ValueError("export='file://PATH' needs a path, e.g. file://traces.jsonl")
    return path


def resolve(export: str | SpanExporter | None, endpoint: str | None, api_key: str | None) -> Target:
    """The exporter for these ``init`` arguments (see the module docstring)."""
    if isinstance(export, SpanExporter):
        return Target(type(export).__name__, export)
    choice = (export or _choice_from_env()).strip()
    lowered = choice.lower()
    if lowered.startswith("file://"):
        path = file_path(choice)
        return Target(f"file://{path}", JsonLinesExporter(path))
    if lowered == "none":
        return Target("none", None)
    if lowered == "console":
        return Target("console", ConsoleSpanExporter())
    if lowered in ("http", "otlp", "http/protobuf"):
        return _http(endpoint, api_key)
    if lowered == "grpc":
        return _grpc(endpoint, api_key)
    raise ValueError(f"export={choice!r}: use one of {', '.join(EXPORTS)} or a SpanExporter")


def _http(endpoint: str | None, api_key: str | None) -> Target:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    env_set = _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
    url = http_url(endpoint) if endpoint else None if env_set else http_url(HTTP_DEFAULT)
    exporter = OTLPSpanExporter(endpoint=url, headers=_headers(api_key))
    return Target(f"otlp http {url or env_set}", exporter)


def _grpc(endpoint: str | None, api_key: str | None) -> Target:
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise ImportError(
            "export='grpc' needs the OTLP gRPC exporter: pip install 'pyflare-sdk[grpc]'"
        ) from None
    env_set = _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
    target = endpoint or (None if env_set else GRPC_DEFAULT)
    insecure = None
    if target is not None:
        if "://" not in target:
            target = "http://" + target
        insecure = target.startswith("http://")
    headers = _headers(api_key)
    exporter = OTLPSpanExporter(
        endpoint=target,
        insecure=insecure,
        headers=tuple(headers.items()) if headers is not None else None,
    )
    return Target(f"otlp grpc {target or env_set}", exporter)
