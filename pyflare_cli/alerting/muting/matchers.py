"""Label matchers as Alertmanager writes them: ``=``, ``!=``, ``=~`` and ``!~``.

Silences, maintenance windows and inhibition rules all choose alerts with matchers. A
missing label counts as the empty text, and regular expressions are anchored at both ends
(``model=~gpt-4`` does not match ``gpt-4o``). Regular expressions are Python's :mod:`re`,
not Go's RE2: the syntax of everyday patterns is the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pyflare_cli.errors import UsageError

Op = Literal["=", "!=", "=~", "!~"]
OPS: tuple[Op, ...] = ("=", "!=", "=~", "!~")
LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


@dataclass(frozen=True)
class Matcher:
    """One label condition: ``name op value``, e.g. ``model=~"gpt-4.*"``.

    A missing label is the empty text, so ``team=""`` matches alerts without a ``team``
    and ``team!="ml"`` matches them too. Regular expressions must match the whole value.
    """

    name: str
    op: Op
    value: str
    _pattern: re.Pattern[str] | None = field(
        init=False, default=None, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if not LABEL_NAME.fullmatch(self.name):
            raise ValueError(f"{self.name!r} is not a label name ([A-Za-z_][A-Za-z0-9_.]*)")
        if self.op not in OPS:
            raise ValueError(f"{self.op!r} is not an operator; use =, !=, =~ or !~")
        if self.op in ("=~", "!~"):
            try:
                pattern = re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {self.value!r}: {exc}") from None
            object.__setattr__(self, "_pattern", pattern)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether the label set satisfies this matcher (a missing label is "")."""
        value = labels.get(self.name, "")
        if self._pattern is not None:
            found = self._pattern.fullmatch(value) is not None
            return found if self.op == "=~" else not found
        return value == self.value if self.op == "=" else value != self.value

    def __str__(self) -> str:
        text = self.value.replace("\\", "\\\\").replace('"', '\\"')
        text = text.replace("\n", "\\n").replace("\t", "\\t")
        return f'{self.name}{self.op}"{text}"'


def _unquote(text: str, source: str) -> str:
    """The value of a matcher: as written, or the inside of double quotes.

    Inside quotes ``\\"``, ``\\\\``, ``\\n`` and ``\\t`` are escapes; any other backslash is
    kept as written, so ``"gpt\\.4"`` is the regular expression ``gpt\\.4``.
    """
    if not text.startswith('"'):
        return text
    out: list[str] = []
    i = 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if char == '"':
            if i != len(text) - 1:
                raise ValueError(
                    f"matcher {source!r}: text after the closing quote; "
                    'write \\" for a quote inside the value'
                )
            return "".join(out)
        out.append(char)
        i += 1
    raise ValueError(f"matcher {source!r}: the value's opening quote is never closed")


def parse_matcher(text: str) -> Matcher:
    """A matcher from ``name=value``, ``name!=value``, ``name=~regex`` or ``name!~regex``.

    The value may be in double quotes (needed when it starts with ``=`` or ``~`` or has
    leading or trailing spaces). Raises :class:`ValueError` with one line naming ``text``
    and what is wrong.
    """
    stripped = text.strip()
    at = min((i for i in (stripped.find("="), stripped.find("!")) if i >= 0), default=-1)
    if at < 0:
        raise ValueError(f"matcher {text!r} has no operator; use =, !=, =~ or !~")
    name = stripped[:at].strip()
    if not name:
        raise ValueError(f"matcher {text!r} has no label name before the operator")
    if not LABEL_NAME.fullmatch(name):
        raise ValueError(
            f"matcher {text!r}: {name!r} is not a label name "
            "(a letter or _, then letters, digits, _ or .)"
        )
    rest = stripped[at:]
    op: Op
    if rest.startswith(("=~", "!~", "!=")):
        op = "=~" if rest[0] == "=" else ("!~" if rest[1] == "~" else "!=")
    elif rest.startswith("=="):
        raise ValueError(f"matcher {text!r}: '==' is not an operator; use =, !=, =~ or !~")
    elif rest.startswith("="):
        op = "="
    else:
        raise ValueError(f"matcher {text!r}: {rest[:2]!r} is not an operator; use =, !=, =~ or !~")
    value = _unquote(rest[len(op) :].strip(), text)
    try:
        return Matcher(name, op, value)
    except ValueError as exc:
        raise ValueError(f"matcher {text!r}: {exc}") from None


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    """Every text parsed with :func:`parse_matcher` (a single text counts as one)."""
    if isinstance(texts, str):
        texts = (texts,)
    return tuple(parse_matcher(text) for text in texts)


def all_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def matcher_list(value: Any, where: str) -> tuple[Matcher, ...]:
    """A configuration list of matcher texts; UsageError naming ``where[j]`` when one is bad."""
    if not isinstance(value, list):
        raise UsageError(f"{where}: must be a list of matchers such as 'model=~gpt-4.*'")
    out: list[Matcher] = []
    for j, text in enumerate(value):
        if not isinstance(text, str):
            raise UsageError(f"{where}[{j}]: must be a matcher text, not {text!r}")
        try:
            out.append(parse_matcher(text))
        except ValueError as exc:
            raise UsageError(f"{where}[{j}]: {exc}") from None
    return tuple(out)
