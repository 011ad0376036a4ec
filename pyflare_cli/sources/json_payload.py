"""Parse one OTLP/JSON payload: the one JSON parser of the receiver, ingest and the flusher.

Apart from the decoder (:mod:`pyflare_cli.sources.otlp_json`) so that what is refused
whole (a body no store can hold) is decided in one place, before any span is looked at.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadDocument(ValueError):
    """A JSON payload that is refused whole (too deep, or a number no store can hold)."""


def load(payload: bytes | str) -> Any:
    """Parse one OTLP/JSON payload: the one parser of the receiver, ingest and the flusher.

    Beyond :func:`json.loads`: ``NaN``/``Infinity`` and numbers that overflow a double
    (``1e400``) are refused, a document nested past the parser's recursion limit (about
    1,000 levels) is refused with that reason instead of raising ``RecursionError``, and
    lone UTF-16 surrogates (valid JSON escapes, but no UTF-8 string can hold them) become
    U+FFFD. The decoder bounds the depth it reads (``otlp_json.MAX_VALUE_DEPTH``); checking the
    depth of every document here cost more than the decoding itself.
    """
    try:
        document = json.loads(payload, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise BadDocument("JSON nested too deeply (about 1,000 levels or more)") from None
    raw = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    if _SURROGATE_ESCAPE.search(raw) is None:
        return document
    if isinstance(document, dict | list):
        _replace_surrogates(document)
        return document
    return _clean(document)


def _no_constant(name: str) -> Any:
    raise BadDocument(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise BadDocument(f"number {text[:40]} overflows a 64-bit float")
    return number


def _replace_surrogates(document: dict[str, Any] | list[Any]) -> None:
    """Replace lone surrogates in every key and string, in place, without recursion."""
    stack: list[dict[str, Any] | list[Any]] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            fixed = {_clean(k): _clean(v) for k, v in node.items()}
            node.clear()
            node.update(fixed)
            children: Any = node.values()
        else:
            node[:] = [_clean(v) for v in node]
            children = node
        stack.extend(c for c in children if isinstance(c, dict | list))


def _clean(value: Any) -> Any:
    return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value
