"""The search query language: its field table, its typed AST and the parser that builds it.

One query language serves ``--where`` on every command and the TUI search bar (DESIGN.md).
Parsing is kept apart from compiling (:mod:`pyflare_cli.analysis.search`) so the TUI can
parse, complete field names and show errors while the user types, without a frame, and so
that every value is validated (durations, numbers, times, status values) before any data is
read: a bad query fails with the line and column of the offending token.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal, TypeAlias

from pyflare_cli.errors import QuerySyntaxError, UsageError
from pyflare_cli.schema import AI_KINDS, SPAN_KINDS, STATUS_CODES

FieldKind = Literal[
    "keyword",  # case-insensitive equality or anchored glob
    "enum",  # a keyword with a closed set of values
    "prefix",  # id prefix
    "substring",  # case-insensitive substring over one or more text columns
    "duration",  # nanoseconds, written with units
    "count",  # integer, optional k/M suffix
    "number",  # float, optional $ prefix and k/M suffix
    "time",  # since/until bound: relative duration or ISO date
    "has",  # the value is a field name
    "attribute",  # a key of a map column
]

Op = Literal["=", "<", "<=", ">", ">=", ".."]
_OPS: tuple[Op, ...] = (">=", "<=", ">", "<", "=")  # longest first


@dataclass(frozen=True)
class Field:
    """One searchable field: the columns it reads, how its values parse, its help line."""

    name: str
    columns: tuple[str, ...]
    kind: FieldKind
    help: str
    aliases: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    trace_level: bool = False

    @property
    def comparable(self) -> bool:
        """Whether ``>``, ``<``, ranges etc. apply (numbers, durations, attributes)."""
        return self.kind in ("duration", "count", "number", "attribute")


def _f(
    name: str,
    columns: str | tuple[str, ...],
    kind: FieldKind,
    help: str,
    *aliases: str,
    values: tuple[str, ...] = (),
) -> Field:
    cols = (columns,) if isinstance(columns, str) else columns
    trace_level = name.startswith("trace.")
    return Field(name, cols, kind, help, aliases, values, trace_level)


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        _f("service", "service_name", "keyword", "service name"),
        _f("version", "service_version", "keyword", "service version"),
        _f("env", "environment", "keyword", "deployment environment", "environment"),
        _f("name", "name", "keyword", "span name", "operation"),
        _f("kind", "kind", "enum", "span kind", values=SPAN_KINDS),
        _f("status", "status_code", "enum", "span status", values=STATUS_CODES),
        _f("duration", "duration_ns", "duration", "span duration, e.g. duration:>1.5s"),
        _f("model", ("model", "request_model"), "keyword", "response or request model"),
        _f("provider", "provider", "keyword", "AI provider, e.g. openai"),
        _f("type", "ai_kind", "enum", "AI span type, e.g. llm, tool", "ai_kind", values=AI_KINDS),
        _f("tool", "tool_name", "keyword", "tool name"),
        _f("agent", "agent_name", "keyword", "agent name"),
        _f("user", "user_id", "keyword", "user id"),
        _f("session", "session_id", "keyword", "session id"),
        _f("trace", "trace_id", "prefix", "trace id or a prefix of it", "trace_id"),
        _f("span", "span_id", "keyword", "span id", "span_id"),
        _f("parent", "parent_span_id", "keyword", "parent span id; parent:none = root spans"),
        _f("tokens", "total_tokens", "count", "total tokens, e.g. tokens:>10k"),
        _f("input_tokens", "input_tokens", "count", "input tokens (including cached)"),
        _f("output_tokens", "output_tokens", "count", "output tokens (including reasoning)"),
        _f("cache_read_tokens", "cache_read_tokens", "count", "input tokens read from cache"),
        _f("cache_write_tokens", "cache_write_tokens", "count", "input tokens written to cache"),
        _f("reasoning_tokens", "reasoning_tokens", "count", "reasoning tokens"),
        _f("cost", "cost_usd", "number", "cost in USD (column cost_usd, added by the caller)"),
        _f("finish_reason", "finish_reason", "keyword", "finish reason, e.g. stop, length"),
        _f("scope", "scope_name", "keyword", "instrumentation scope name"),
        _f(
            "error",
            ("error_type", "error_message", "status_message"),
            "substring",
            "text in the error type or message; error:true = status error",
        ),
        _f("text", ("input_text", "output_text"), "substring", "text in the prompt or completion"),
        _f("since", "start_time", "time", "started at or after, e.g. since:1h, since:2024-05-01"),
        _f("until", "start_time", "time", "started before, e.g. until:30m, until:2024-05-02"),
        _f("has", (), "has", "the field or attribute is set, e.g. has:tool, has:attr.http.route"),
        _f("attr.*", "attributes", "attribute", "span attribute, e.g. attr.http.route:/chat"),
        _f("resource.*", "resource_attributes", "attribute", "resource attribute"),
        _f(
            "trace.duration",
            ("start_time", "end_time"),
            "duration",
            "trace duration: last span end - first span start",
        ),
        _f("trace.spans", "trace_id", "count", "number of spans in the trace"),
        _f("trace.errors", "status_code", "count", "number of error spans in the trace"),
        _f("trace.cost", "cost_usd", "number", "total cost of the trace in USD"),
        _f("trace.service", "service_name", "keyword", "any span of the trace has this service"),
    )
}
"""Every field of the language by canonical name. ``attr.*``/``resource.*`` are prefixes."""

_LOOKUP: dict[str, Field] = {
    alias: f for f in FIELDS.values() if not f.name.endswith(".*") for alias in (f.name, *f.aliases)
}
_MAP_PREFIXES = {"attr.": FIELDS["attr.*"], "resource.": FIELDS["resource.*"]}


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

_DURATION_HINT = "use e.g. 250ms, 1.5s, 2m"
_TIME_HINT = "use e.g. 30m, 24h, 7d, 2w or an ISO date like 2024-05-01 or 2024-05-01T12:00:00Z"
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_DURATION_PART = re.compile(rf"({_NUMBER})(ns|us|µs|ms|s|m|h|d|w)")
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 604_800_000_000_000,
}
_SUFFIXED = re.compile(rf"({_NUMBER})([kKM]?)")
_SUFFIX = {"": 1, "k": 1_000, "K": 1_000, "M": 1_000_000}
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_REGEX_META = frozenset("\\.+*?()|[]{}^$#&-~")


def parse_duration_ns(text: str) -> int | None:
    """Nanoseconds in ``250ms``, ``1.5s``, ``1h30m`` (units ns us ms s m h d w), else None.

    >>> parse_duration_ns("1.5s")
    1500000000
    >>> parse_duration_ns("1.5") is None
    True
    """
    total, pos = Decimal(0), 0
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if m is None:
            return None
        total += Decimal(m[1]) * _UNIT_NS[m[2]]
        pos = m.end()
    return int(total.to_integral_value()) if text else None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse_bound(text: str) -> timedelta | datetime | None:
    if text == "now":
        return timedelta(0)
    ns = parse_duration_ns(text)
    if ns is not None:
        return timedelta(microseconds=ns // 1_000)
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def resolve_bound(bound: timedelta | datetime, now: datetime) -> datetime:
    """The instant of a parsed since/until value: ``now - bound`` or the absolute UTC time."""
    return _utc(now) - bound if isinstance(bound, timedelta) else bound


def time_bound(text: str, now: datetime) -> datetime:
    """Parse ``--since``/``--until``/``since:`` values into an aware UTC datetime.

    Relative values (``30m``, ``24h``, ``7d``, ``2w``, ``1h30m``, ``now``) count back from
    ``now``; ISO dates and datetimes are absolute, a naive one is taken as UTC.

    >>> now = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
    >>> time_bound("24h", now).isoformat()
    '2024-05-09T12:00:00+00:00'
    >>> time_bound("2024-05-01", now).isoformat()
    '2024-05-01T00:00:00+00:00'

    Raises :class:`UsageError` naming the value when it is neither.
    """
    bound = _parse_bound(text.strip())
    if bound is None:
        raise UsageError(f"bad time '{text}'; {_TIME_HINT}")
    return resolve_bound(bound, now)


@dataclass(frozen=True)
class _Char:
    ch: str
    plain: bool  # neither quoted nor escaped: may be ':', an operator or a wildcard
    offset: int


_TokenKind = Literal["word", "(", ")", "AND", "OR", "NOT", "-"]
_KEYWORDS: dict[str, _TokenKind] = {"AND": "AND", "OR": "OR", "NOT": "NOT"}


@dataclass(frozen=True)
class _Token:
    kind: _TokenKind
    offset: int
    chars: tuple[_Char, ...] = ()


def _text(chars: tuple[_Char, ...]) -> str:
    return "".join(c.ch for c in chars)


def _all_plain(chars: tuple[_Char, ...]) -> bool:
    return all(c.plain for c in chars)


def _has_wildcard(chars: tuple[_Char, ...]) -> bool:
    return any(c.plain and c.ch in "*?" for c in chars)


def _string_value(chars: tuple[_Char, ...]) -> str | Glob:
    if not _has_wildcard(chars):
        return _text(chars)
    parts = []
    for c in chars:
        if c.plain and c.ch == "*":
            parts.append(".*")
        elif c.plain and c.ch == "?":
            parts.append(".")
        else:
            parts.append("\\" + c.ch if c.ch in _REGEX_META else c.ch)
    return Glob(_text(chars), "".join(parts))


def _suggest(name: str, candidates: list[str]) -> str | None:
    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if match:
        return match[0]
    head, dot, rest = name.partition(".")
    if dot:
        match = difflib.get_close_matches(head, ["attr", "resource"], n=1, cutoff=0.6)
        if match:
            return f"{match[0]}.{rest}"
    return None


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = self._lex()
        self.pos = 0

    def position(self, offset: int) -> tuple[int, int]:
        line = self.query.count("\n", 0, offset) + 1
        return line, offset - self.query.rfind("\n", 0, offset)

    def error(self, reason: str, offset: int, hint: str | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(reason, *self.position(offset), hint=hint)

    def _lex(self) -> list[_Token]:
        q, n, i = self.query, len(self.query), 0
        tokens: list[_Token] = []
        while i < n:
            c = q[i]
            if c.isspace():
                i += 1
            elif c in "()":
                tokens.append(_Token("(" if c == "(" else ")", i))
                i += 1
            elif c == "-":
                tokens.append(_Token("-", i))
                i += 1
            else:
                start, chars = i, list[_Char]()
                while i < n and not q[i].isspace() and q[i] != ")":
                    c = q[i]
                    if c == "(":
                        if _all_plain(tuple(chars)) and _text(tuple(chars)) in _KEYWORDS:
                            break  # NOT(a), a OR(b)
                        raise self.error(
                            "'(' inside a term",
                            i,
                            'quote the value, e.g. name:"f(x)"; '
                            "to group values write (model:a OR model:b)",
                        )
                    if c == "\\":
                        if i + 1 >= n:
                            raise self.error("nothing to escape after '\\'", i)
                        chars.append(_Char(q[i + 1], False, i + 1))
                        i += 2
                    elif c == '"':
                        i = self._lex_quoted(i, chars)
                    else:
                        chars.append(_Char(c, True, i))
                        i += 1
                word = tuple(chars)
                text = _text(word)
                keyword = _KEYWORDS.get(text) if _all_plain(word) else None
                if keyword is not None:
                    tokens.append(_Token(keyword, start))
                else:
                    tokens.append(_Token("word", start, word))
        return tokens

    def _lex_quoted(self, quote: int, chars: list[_Char]) -> int:
        q, i = self.query, quote + 1
        while i < len(q):
            if q[i] == '"':
                return i + 1
            if q[i] == "\\" and i + 1 < len(q):
                i += 1
            chars.append(_Char(q[i], False, i))
            i += 1
        raise self.error("unterminated quote", quote, 'close it with "')

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> Node:
        if not self.tokens:
            return And(())
        node = self.or_expr()
        extra = self.peek()
        if extra is not None:  # or_expr stops only at the end or at a ')'
            raise self.error("unbalanced ')'", extra.offset, "remove it or add a matching '('")
        return node

    def expect_operand(self, op: _Token) -> None:
        nxt = self.peek()
        if nxt is None or nxt.kind not in ("word", "(", "NOT", "-"):
            raise self.error(f"expected a term after '{op.kind}'", op.offset)

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.pos += 1
            self.expect_operand(tok)
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.unary()]
        while (tok := self.peek()) is not None and tok.kind not in (")", "OR"):
            if tok.kind == "AND":
                self.pos += 1
                self.expect_operand(tok)
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self) -> Node:
        tok = self.peek()
        assert tok is not None  # callers check that an operand follows
        self.pos += 1
        if tok.kind == "NOT":
            self.expect_operand(tok)
            return Not(self.unary())
        if tok.kind == "-":
            nxt = self.peek()
            if nxt is None or nxt.kind not in ("word", "(") or nxt.offset != tok.offset + 1:
                raise self.error("expected a term right after '-'", tok.offset)
            return Not(self.unary())
        if tok.kind == "(":
            inner = self.peek()
            if inner is not None and inner.kind == ")":
                raise self.error("empty parentheses", tok.offset)
            if inner is None:
                raise self.error("unclosed '('", tok.offset, "add a matching ')'")
            node = self.or_expr()
            close = self.peek()
            if close is None:
                raise self.error("unclosed '('", tok.offset, "add a matching ')'")
            self.pos += 1
            return node
        if tok.kind in ("AND", "OR"):
            raise self.error(f"expected a term before '{tok.kind}'", tok.offset)
        if tok.kind == ")":
            raise self.error("unbalanced ')'", tok.offset, "remove it or add a matching '('")
        return self.term(tok)

    def term(self, tok: _Token) -> Term:
        chars = tok.chars
        colon = next((k for k, c in enumerate(chars) if c.plain and c.ch == ":"), None)
        if colon is None:
            if not chars:
                raise self.error("empty search text", tok.offset)
            return Term(None, _string_value(chars), "=", None, *self.position(tok.offset))
        if colon == 0:
            raise self.error(
                "missing field name before ':'", tok.offset, 'quote text that contains ":"'
            )
        field, name = self._field(_text(chars[:colon]), tok.offset)
        rest = chars[colon + 1 :]
        if not rest:
            raise self.error(f"empty value for '{name}'", tok.offset)
        op: Op = "="
        op_offset = rest[0].offset
        for candidate in _OPS:
            if _text(rest[: len(candidate)]) == candidate and _all_plain(rest[: len(candidate)]):
                op = candidate
                rest = rest[len(candidate) :]
                if not rest:
                    raise self.error(f"empty value for '{name}'", op_offset)
                break
        if op != "=" and not field.comparable:
            where = "for" if field.kind in ("time", "has") else "on text field"
            raise self.error(
                f"comparison '{op}' {where} '{name}'", op_offset, self._no_op_hint(field)
            )
        line, column = self.position(tok.offset)
        dots = next(
            (
                k
                for k in range(len(rest) - 1)
                if rest[k].ch == rest[k + 1].ch == "." and rest[k].plain and rest[k + 1].plain
            ),
            None,
        )
        if op == "=" and field.comparable and dots is not None:
            return self._range(
                field, name, rest[:dots], rest[dots + 2 :], rest[dots].offset, line, column
            )
        value = self._value(field, name, rest, op)
        return Term(name, value, op, None, line, column)

    @staticmethod
    def _no_op_hint(field: Field) -> str:
        if field.kind == "time":
            return f"write {field.name}:1h or {field.name}:2024-05-01"
        if field.kind == "has":
            return "write has:<field>, e.g. has:tool"
        return "text fields take a value or a pattern, e.g. service:api or model:gpt-4o*"

    def _field(self, written: str, offset: int) -> tuple[Field, str]:
        lower = written.lower()
        for prefix, map_field in _MAP_PREFIXES.items():
            if lower.startswith(prefix):
                if len(written) == len(prefix):
                    raise self.error(
                        f"missing key after '{prefix}'", offset, f"write {prefix}<key>:value"
                    )
                return map_field, prefix + written[len(prefix) :]
        if lower in ("attr", "resource"):
            raise self.error(f"missing key after '{lower}'", offset, f"write {lower}.<key>:value")
        field = _LOOKUP.get(lower)
        if field is None:
            suggestion = _suggest(lower, sorted(_LOOKUP))
            hint = f"did you mean '{suggestion}'?" if suggestion else 'quote text that contains ":"'
            raise self.error(f"unknown field '{written}'", offset, hint)
        return field, field.name

    def _range(
        self,
        field: Field,
        name: str,
        low_chars: tuple[_Char, ...],
        high_chars: tuple[_Char, ...],
        offset: int,
        line: int,
        column: int,
    ) -> Term:
        if not low_chars and not high_chars:
            raise self.error(f"empty range for '{name}'", offset, "write e.g. 100ms..2s")
        if not high_chars:
            return Term(name, self._value(field, name, low_chars, ">="), ">=", None, line, column)
        if not low_chars:
            return Term(name, self._value(field, name, high_chars, "<="), "<=", None, line, column)
        low = self._value(field, name, low_chars, "..")
        high = self._value(field, name, high_chars, "..")
        numeric = (int, float)
        if isinstance(low, numeric) != isinstance(high, numeric):
            low, high = _text(low_chars), _text(high_chars)  # a text range on an attribute
        if isinstance(low, numeric) and isinstance(high, numeric) and low > high:
            raise self.error(f"empty range for '{name}'", offset, "put the lower bound first")
        return Term(name, low, "..", high, line, column)

    def _value(self, field: Field, name: str, chars: tuple[_Char, ...], op: Op) -> Value:
        text, offset = _text(chars), chars[0].offset
        if _has_wildcard(chars) and field.kind not in ("keyword", "enum", "prefix", "substring"):
            if field.kind != "attribute":
                raise self.error(f"wildcards are not supported for '{name}'", offset)
            if op != "=":
                raise self.error(f"wildcards cannot be combined with '{op}'", offset)
        kind, plain = field.kind, _all_plain(chars)
        if kind == "enum" and not _has_wildcard(chars):
            if text.lower() not in field.values:
                suggestion = _suggest(text.lower(), list(field.values))
                allowed = ", ".join(field.values)
                hint = f"did you mean '{suggestion}'? (one of: {allowed})" if suggestion else ""
                raise self.error(
                    f"unknown {name} '{text}'", offset, hint or f"use one of: {allowed}"
                )
            return text.lower()
        if kind == "keyword" and name == "parent" and plain and text.lower() == "none":
            return None
        if kind == "substring" and name == "error" and plain and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if kind in ("keyword", "enum", "prefix", "substring"):
            return _string_value(chars)
        if kind == "duration":
            ns = parse_duration_ns(text)
            if ns is not None:
                return ns
            if _PLAIN_NUMBER.fullmatch(text) and float(text) == 0:
                return 0
            reason = "missing unit in duration" if _PLAIN_NUMBER.fullmatch(text) else "bad duration"
            raise self.error(f"{reason} '{text}' for '{name}'", offset, _DURATION_HINT)
        if kind in ("count", "number"):
            digits = text[1:] if kind == "number" and text.startswith("$") else text
            m = _SUFFIXED.fullmatch(digits)
            if m is None:
                example = "0.01, $0.5, 2" if kind == "number" else "1500, 10k, 1.5M"
                raise self.error(f"bad number '{text}' for '{name}'", offset, f"use e.g. {example}")
            amount = Decimal(m[1]) * _SUFFIX[m[2]]
            if kind == "count" and amount == amount.to_integral_value():
                return int(amount)
            return float(amount)
        if kind == "time":
            bound = _parse_bound(text)
            if bound is None:
                raise self.error(f"bad time '{text}' for '{name}'", offset, _TIME_HINT)
            return bound
        if kind == "has":
            return self._has_target(text, offset)
        # attribute: a plain number compares numerically, anything else as text
        if plain and _PLAIN_NUMBER.fullmatch(text):
            return int(text) if _INTEGER.fullmatch(text) else float(text)
        return _string_value(chars)

    def _has_target(self, text: str, offset: int) -> str:
        field, name = self._field(text, offset)
        if field.kind in ("time", "has") or field.trace_level:
            raise self.error(
                f"has: takes a span field, not '{text}'",
                offset,
                "e.g. has:tool or has:attr.user.tier",
            )
        return name


def parse(query: str) -> Node:
    """Parse a search query into a :data:`Node`.

    Terms next to each other are ANDed; ``OR`` binds looser than ``AND`` (explicit or
    implicit), ``NOT``/``-`` tighter; parentheses group.

    >>> parse("-status:ok")
    Not(child=Term(field='status', value='ok', op='=', upper=None, line=1, column=2))
    >>> parse("duration:100ms..2s")
    Term(field='duration', value=100000000, op='..', upper=2000000000, line=1, column=1)
    >>> parse("modle:gpt-4o")
    Traceback (most recent call last):
    ...
    pyflare_cli.errors.QuerySyntaxError: unknown field 'modle' at 1:1; did you mean 'model'?

    Raises :class:`~pyflare_cli.errors.QuerySyntaxError` pointing at the offending token.
    """
    return _Parser(query).parse()
