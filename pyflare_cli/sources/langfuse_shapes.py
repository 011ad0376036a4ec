"""What a Langfuse record is, told by its fields, and how its ids become OTel hex ids.

Apart from :mod:`pyflare_cli.sources.langfuse` so that sniffing a file
(:mod:`pyflare_cli.sources.opening`) can ask without importing the decoder.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

_HEX = re.compile(r"^[0-9a-f]+$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_OBSERVATION_TYPES = frozenset(
    {"GENERATION", "SPAN", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR"}
    | {"EMBEDDING", "GUARDRAIL"}
)


def record_kind(obj: object) -> str | None:
    """``observation``, ``trace``, ``score``, ``page`` or None for any other object."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("data"), list) and isinstance(obj.get("meta"), dict):
        return "page"
    if "traceId" in obj and str(obj.get("type", "")).upper() in _OBSERVATION_TYPES:
        return "observation"
    if "traceId" in obj and "name" in obj and ("dataType" in obj or "source" in obj):
        return "score"
    if isinstance(obj.get("subject"), dict) and "name" in obj and "dataType" in obj:
        return "score"  # the v3 scores API: {"subject": {"kind", "id", "traceId"}}
    if "id" in obj and "timestamp" in obj and ({"htmlPath", "observations"} & set(obj)):
        return "trace"
    if "id" in obj and "timestamp" in obj and ({"userId", "sessionId"} & set(obj)):
        return "trace"
    return None


def hex_id(value: Any, digits: int) -> str:
    """A ``digits``-long lower-case hex id for a Langfuse id (stable across files)."""
    text = str(value).strip().lower()
    if _UUID.match(text) and digits == 32:
        return text.replace("-", "")
    if len(text) == digits and _HEX.match(text):
        return text
    return hashlib.sha256(str(value).encode()).hexdigest()[:digits]
