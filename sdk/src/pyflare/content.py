"""Captured content (arguments, return values, prompts, completions) as span attributes.

One path for every captured value, so the rules hold everywhere: a value becomes text (a
string as it is, anything else as JSON, with a readable stand-in for what JSON cannot hold,
such as a tensor's shape and dtype), the configured redaction runs on the whole text, and
only then is it cut to ``max_value_length`` characters, so a secret at the cut is never
half-kept. Nothing is captured when ``capture_content`` is off.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from opentelemetry.trace import Span

from pyflare import runtime, semconv

_MAX_DEPTH = 8
_MAX_ITEMS = 200


def jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON data; objects JSON cannot hold become short descriptions."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth >= _MAX_DEPTH:
        return f"<{type(value).__name__}>"
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, Mapping):
        items = list(value.items())[:_MAX_ITEMS]
        return {str(k): jsonable(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, depth + 1) for v in list(value)[:_MAX_ITEMS]]
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):  # numpy arrays, tensors
        return {"type": type(value).__name__, "shape": list(shape), "dtype": str(value.dtype)}
    dump = getattr(value, "model_dump", None)  # pydantic models (client responses, messages)
    if callable(dump):
        try:
            return jsonable(dump(mode="json"), depth + 1)
        except Exception:
            pass
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return jsonable(fields, depth + 1)
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def to_text(value: Any) -> tuple[str, str]:
    """``value`` as text and its MIME type: a string as it is, anything else as JSON."""
    if isinstance(value, str):
        return value, "text/plain"
    return json.dumps(jsonable(value), ensure_ascii=False), "application/json"


def clean(text: str) -> tuple[str, bool]:
    """``text`` redacted and cut to the configured length; whether it was cut."""
    settings = runtime.settings()
    if settings.redactor is not None:
        text = settings.redactor(text)
    limit = settings.max_value_length
    if len(text) <= limit:
        return text, False
    return text[:limit] + f"...[truncated {len(text) - limit} chars]", True


def capturing() -> bool:
    return runtime.settings().capture_content


def set_text(span: Span, key: str, value: Any) -> None:
    """Set ``key`` to ``value`` as cleaned text (JSON unless a string), when capturing."""
    if not capturing() or value is None:
        return
    text, cut = clean(to_text(value)[0])
    span.set_attribute(key, text)
    if cut:
        span.set_attribute(semconv.TRUNCATED, True)


def set_input(span: Span, value: Any) -> None:
    """OpenInference ``input.value`` (and its MIME type), when capturing."""
    _set_value(span, semconv.INPUT_VALUE, semconv.INPUT_MIME, value)


def set_output(span: Span, value: Any) -> None:
    """OpenInference ``output.value`` (and its MIME type), when capturing."""
    _set_value(span, semconv.OUTPUT_VALUE, semconv.OUTPUT_MIME, value)


def _set_value(span: Span, key: str, mime_key: str, value: Any) -> None:
    if not capturing():
        return
    raw, mime = to_text(value)
    text, cut = clean(raw)
    span.set_attribute(key, text)
    span.set_attribute(mime_key, mime)
    if cut:
        span.set_attribute(semconv.TRUNCATED, True)
