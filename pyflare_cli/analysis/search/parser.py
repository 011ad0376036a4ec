"""The search query language's parser: text in, the typed tree of :mod:`syntax` out.

One query language serves ``--where`` on every command and the TUI search bar (DESIGN.md).
Parsing is kept apart from compiling (:mod:`pyflare_cli.analysis.search.compile`) so the TUI can
parse, complete field names and show errors while the user types, without a frame, and so
that every value is validated (durations, numbers, times, status values) before any data is
read: a bad query fails with the line and column of the offending token.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pyflare_cli.analysis.search.fields import _LOOKUP, _MAP_PREFIXES, _OPS, Field, Op
from pyflare_cli.analysis.search.syntax import And, Glob, Node, Not, Or, Term, Value
from pyflare_cli.analysis.search.time_bounds import (
    _DURATION_HINT,
    _INTEGER,
    _PLAIN_NUMBER,
    _REGEX_META,
    _SUFFIX,
    _SUFFIXED,
    _TIME_HINT,
    _parse_bound,
    parse_duration_ns,
)
from pyflare_cli.errors import QuerySyntaxError


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
