"""The input spans of rule tests: compact series, single spans and fixture files.

`pyflare alert test` describes spans compactly (``{from: 0m, to: 30m, every: 10s,
model: gpt-4o-mini, status: error}``); this module turns such items into a frame with every
canonical column plus ``cost_usd``, vectorised, and reads fixture files with pyflare's own
decoders. The test file format is :mod:`rule_tests.spec`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pyflare_cli.alerting.rule_tests.times import Where, duration_ns, ns_of, offset_ns
from pyflare_cli.alerting.rules.yaml_lines import line_of
from pyflare_cli.clock import utc
from pyflare_cli.schema import AI_KINDS, POLARS_SCHEMA, STATUS_CODES

DEFAULT_DURATION_NS = 1_000_000_000
MAX_SPANS = 5_000_000
"""Spans of one test at most: a typo such as ``every: 1ms`` over a day stops here."""
SPAN_SCHEMA: dict[str, pl.DataType] = {**POLARS_SCHEMA, "cost_usd": pl.Float64()}
"""The canonical columns plus ``cost_usd``, as :func:`check.evaluate_all` reads them."""

FIXTURE_KEYS = {"file", "shift_to"}
TIME_KEYS = {"at", "from", "to", "every", "count"}
STRING_FIELDS: dict[str, tuple[str, ...]] = {
    "model": ("model", "request_model"),
    "provider": ("provider",),
    "service": ("service_name",),
    "version": ("service_version",),
    "name": ("name",),
    "type": ("ai_kind",),
    "user": ("user_id",),
    "session": ("session_id",),
    "environment": ("environment",),
    "tool": ("tool_name",),
    "agent": ("agent_name",),
    "trace": ("trace_id",),
}
SPAN_FIELDS = {
    *STRING_FIELDS,
    "status",
    "error",
    "duration",
    "input_tokens",
    "output_tokens",
    "cost",
    "attributes",
    "resource",
}
DEFAULTS: dict[str, Any] = {
    "name": "span",
    "kind": "internal",
    "service_name": "app",
    "attributes": {},
    "resource_attributes": {},
    "events": [],
    "links": [],
}


def _cycle(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _texts(value: Any, where: Where, key: str, allowed: Sequence[str] = ()) -> list[Any]:
    values = _cycle(value)
    if not values:
        raise where.error(f"{key} is an empty list")
    out: list[Any] = []
    for item in values:
        if item is None:
            out.append(None)
            continue
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise where.error(f"{key} must be a text (or a list of texts), not {item!r}")
        if allowed and str(item) not in allowed:
            raise where.error(f"{key} {item!r} is not one of {', '.join(allowed)}")
        out.append(str(item))
    return out


def _numbers(value: Any, where: Where, key: str, integer: bool) -> list[Any]:
    values = _cycle(value)
    if not values:
        raise where.error(f"{key} is an empty list")
    for item in values:
        kind = int if integer else int | float
        if item is not None and (isinstance(item, bool) or not isinstance(item, kind) or item < 0):
            what = "a whole number" if integer else "a number"
            raise where.error(f"{key} must be {what} >= 0 (or a list of them), not {item!r}")
    return [None if v is None else (int(v) if integer else float(v)) for v in values]


def _mappings(value: Any, where: Where, key: str) -> list[dict[str, str]]:
    values = _cycle(value)
    if not values:
        raise where.error(f"{key} is an empty list")
    out = []
    for item in values:
        if not isinstance(item, dict):
            raise where.error(f"{key} must be a mapping of names to texts (or a list of them)")
        out.append({str(k): "" if v is None else str(v) for k, v in item.items()})
    return out


def _split_error(text: str | None) -> tuple[str | None, str | None]:
    """``"RateLimitError: slow down"`` -> (``RateLimitError``, ``slow down``)."""
    if text is None or text == "":
        return None, None
    head, sep, rest = text.partition(": ")
    if sep and head and " " not in head:
        return head, rest
    return None, text


def _columns(item: dict[str, Any], where: Where) -> dict[str, tuple[list[Any], pl.DataType]]:
    """The values each column takes in turn, by column name (others take their default)."""
    columns: dict[str, tuple[list[Any], pl.DataType]] = {}
    for key, names in STRING_FIELDS.items():
        if key in item:
            allowed = AI_KINDS if key == "type" else ()
            values = _texts(item[key], where, key, allowed)
            for name in names:
                columns[name] = (values, pl.String())
    errors = _texts(item["error"], where, "error") if "error" in item else [None]
    if "error" in item:
        split = [_split_error(e) for e in errors]
        columns["error_type"] = ([t for t, _ in split], pl.String())
        columns["error_message"] = ([m for _, m in split], pl.String())
        columns["status_message"] = ([m for _, m in split], pl.String())
    if "status" in item:
        columns["status_code"] = (
            _texts(item["status"], where, "status", STATUS_CODES),
            pl.String(),
        )
    else:
        columns["status_code"] = (["error" if e else "unset" for e in errors], pl.String())
    if "duration" in item:
        values = _cycle(item["duration"])
        if not values:
            raise where.error("duration is an empty list")
        durations = [duration_ns(v, where, "duration") for v in values]
        columns["duration_ns"] = (durations, pl.Int64())
    for key in ("input_tokens", "output_tokens"):
        if key in item:
            columns[key] = (_numbers(item[key], where, key, integer=True), pl.Int64())
    if "input_tokens" in item or "output_tokens" in item:
        ins = columns.get("input_tokens", ([None], pl.Int64()))[0]
        outs = columns.get("output_tokens", ([None], pl.Int64()))[0]
        size = math.lcm(len(ins), len(outs))
        totals = [
            None if a is None and b is None else (a or 0) + (b or 0)
            for a, b in zip(ins * (size // len(ins)), outs * (size // len(outs)), strict=True)
        ]
        columns["total_tokens"] = (totals, pl.Int64())
    if "cost" in item:
        costs = _numbers(item["cost"], where, "cost", integer=False)
        columns["cost_usd"] = (costs, pl.Float64())
        columns["reported_cost_usd"] = (costs, pl.Float64())
    if "attributes" in item:
        columns["attributes"] = (_mappings(item["attributes"], where, "attributes"), _MAP)
    if "resource" in item:
        columns["resource_attributes"] = (_mappings(item["resource"], where, "resource"), _MAP)
    return columns


_MAP = POLARS_SCHEMA["attributes"]


def _series_times(item: dict[str, Any], start: datetime, where: Where) -> tuple[int, int, int]:
    """(first offset ns, step ns, number of instants) of a series or single-instant item."""
    if "at" in item:
        if "from" in item or "to" in item or "every" in item:
            raise where.error("use either at, or from, to and every")
        return offset_ns(item["at"], start, where, "at"), 0, 1
    missing = [key for key in ("from", "to", "every") if key not in item]
    if missing:
        raise where.error(f"needs at, or from, to and every (missing {', '.join(missing)})")
    first = offset_ns(item["from"], start, where, "from")
    last = offset_ns(item["to"], start, where, "to")
    every = duration_ns(item["every"], where, "every")
    if every <= 0:
        raise where.error("every must be longer than 0")
    if last <= first:
        raise where.error(f"to ({item['to']}) must come after from ({item['from']})")
    return first, every, -(-(last - first) // every)


def _compact(item: dict[str, Any], start: datetime, where: Where, first_id: int) -> pl.DataFrame:
    unknown = sorted(set(item) - SPAN_FIELDS - TIME_KEYS)
    if unknown:
        known = ", ".join(sorted(SPAN_FIELDS | TIME_KEYS))
        raise where.error(f"unknown key {unknown[0]!r} (known: {known}; or file, shift_to)")
    first, every, instants = _series_times(item, start, where)
    count = item.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise where.error(f"count must be a whole number >= 1, not {count!r}")
    n = instants * count
    if n > MAX_SPANS:
        raise where.error(f"makes {n} spans, more than {MAX_SPANS}; check every and count")
    columns = _columns(item, where)
    index = np.arange(n, dtype=np.int64)
    data: dict[str, pl.Series] = {}
    for name, dtype in SPAN_SCHEMA.items():
        values, typ = columns.get(name, ([DEFAULTS.get(name)], dtype))
        series = pl.Series(name, values, dtype=typ)
        data[name] = series.gather(index % len(values)) if n else series.clear()
    start_ns = ns_of(start - datetime(1970, 1, 1, tzinfo=UTC)) + first
    begin = pl.Series("start_time", start_ns + (index // count) * every).cast(
        POLARS_SCHEMA["start_time"]
    )
    if "duration_ns" not in columns:
        data["duration_ns"] = pl.Series("duration_ns", np.full(n, DEFAULT_DURATION_NS))
    ids = pl.Series("span_id", index + first_id).cast(pl.String).str.zfill(16)
    data["span_id"] = ids
    if "trace_id" not in columns:
        data["trace_id"] = ("0" * 16 + ids).alias("trace_id")
    data["start_time"] = begin
    data["end_time"] = (begin + pl.Series(data["duration_ns"]).cast(pl.Duration("ns"))).alias(
        "end_time"
    )
    return pl.DataFrame(list(data.values())).select(
        pl.col(name).cast(dtype) for name, dtype in SPAN_SCHEMA.items()
    )


def _fixture(item: dict[str, Any], start: datetime, where: Where, base: Path) -> pl.DataFrame:
    from pyflare_cli.query.prices import priced
    from pyflare_cli.sources.decoding import decode
    from pyflare_cli.sources.opening import UnreadableInput, sniff
    from pyflare_cli.sources.tasks import split

    unknown = sorted(set(item) - FIXTURE_KEYS)
    if unknown:
        raise where.error(f"unknown key {unknown[0]!r}: a file item takes file and shift_to")
    if not isinstance(item["file"], str) or not item["file"]:
        raise where.error("file must name a span file")
    path = base / item["file"]
    if not path.is_file():
        raise where.error(f"span file {path} does not exist")
    shift = offset_ns(item.get("shift_to", 0), start, where, "shift_to")
    try:
        frames = [decode(task).spans for task in split(path, sniff(path), str(path))]
    except (UnreadableInput, OSError) as exc:
        raise where.error(f"span file {path}: {exc}") from None
    spans = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=POLARS_SCHEMA)
    if spans.height == 0:
        raise where.error(f"span file {path} holds no spans")
    first = spans.get_column("start_time").min()
    assert isinstance(first, datetime)
    delta = pl.duration(nanoseconds=ns_of(start - utc(first)) + shift, time_unit="ns")
    shifted = spans.with_columns(pl.col("start_time") + delta, pl.col("end_time") + delta)
    return (
        priced(shifted.lazy())
        .select(pl.col(name).cast(dtype) for name, dtype in SPAN_SCHEMA.items())
        .collect()
    )


def spans_from_spec(
    items: list[Any], start: datetime, where: str, base: Path, line: int = 0
) -> pl.DataFrame:
    """The spans a test's ``spans:`` list describes, sorted by start time.

    ``where`` names the test file for errors (``file:line: spans[i]: reason``), ``base``
    is the folder fixture files are relative to, ``line`` the list's line if known.
    Raises :class:`UsageError` for a bad item.
    """
    if not isinstance(items, list):
        raise Where(where, line, "spans").error("must be a list of span items")
    frames = [pl.DataFrame(schema=SPAN_SCHEMA)]
    next_id = 1
    for number, item in enumerate(items):
        here = Where(where, line_of(item, line), f"spans[{number}]")
        if not isinstance(item, dict):
            raise here.error("a span item must be a mapping")
        if "file" in item:
            frames.append(_fixture(item, start, here, base))
        else:
            frame = _compact(item, start, here, next_id)
            next_id += frame.height
            frames.append(frame)
    return pl.concat(frames, how="vertical").sort("start_time", maintain_order=True)
