"""The typed tree of a search query: terms, their values, and the boolean nodes over them.

Apart from the parser (:mod:`parser`) that builds it and the compiler
(:mod:`compile`) that turns it into a Polars expression, so either can change alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeAlias

from pyflare_cli.analysis.search.fields import Op


@dataclass(frozen=True)
class Glob:
    """A value with ``*``/``?`` wildcards; ``regex`` is its pattern without anchors or flags."""

    text: str
    regex: str


Value: TypeAlias = str | int | float | bool | Glob | timedelta | datetime | None
"""A parsed value: ``str`` (exact text), ``Glob``, a number (durations in ns), ``bool``
(``error:true``), ``None`` (``parent:none``), ``timedelta`` (relative since/until: before
``now``) or ``datetime`` (absolute, UTC)."""


@dataclass(frozen=True)
class Term:
    """``field:value``; ``field`` is a canonical name, ``attr.<key>``, ``resource.<key>``,
    or ``None`` for a bare word. ``op == ".."`` is an inclusive range ``value..upper``."""

    field: str | None
    value: Value
    op: Op = "="
    upper: Value = None
    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    """All children match; ``And(())`` (the empty query) matches everything."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node: TypeAlias = Term | Not | And | Or
