"""Helpers of the SDK tests: finished spans by name, their attributes, their parents."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyflare
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@dataclass
class Recorded:
    exporter: InMemorySpanExporter
    handle: pyflare.Handle

    @property
    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, (name, [s.name for s in self.spans])
        return found[0]

    def names(self) -> list[str]:
        return [s.name for s in self.spans]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def json_attr(span: ReadableSpan, key: str) -> Any:
    return json.loads(attrs(span)[key])


def is_child(child: ReadableSpan, parent: ReadableSpan) -> bool:
    return (
        child.parent is not None
        and child.parent.span_id == parent.context.span_id
        and child.context.trace_id == parent.context.trace_id
    )
