"""Redaction of captured content before it leaves the process, as the CLI does at ingest.

The patterns, the modes and the replacements are the CLI's (``pyflare_cli/ingest/redaction.py``),
copied because the SDK must not depend on the CLI; a test keeps the two equal. Redacting in
the application means a secret in a prompt never reaches the wire, a file or a collector,
whatever ingests it later. *mask* writes ``[REDACTED:email]``, *hash* writes
``[email:<12 hex of sha256(salt + match)>]`` (so equal values still join), *drop* removes the
match; card numbers must pass the Luhn check.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_WORD_SCRIPTS = (
    r"\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02AF"  # Latin-1 letters, Latin Extended-A/B, IPA
    r"\u0370-\u03FF\u0400-\u052F\u0531-\u0587\u05D0-\u05EA"  # Greek, Cyrillic, Armenian, Hebrew
    r"\u0620-\u065F\u0660-\u0669\u066E-\u06D3\u06D5-\u06FF"  # Arabic, not its punctuation
    r"\u0900-\u0963\u0966-\u0DFF\u0E01-\u0E3A\u0E40-\u0E4E\u10A0-\u10FF"  # Indic (no danda), Thai
    r"\u1E00-\u1FFF"  # Latin Extended Additional, Greek Extended
)
r"""Letters of scripts that put spaces between words, for internationalised addresses
(RFC 6531 local parts, IDN domains): ``josé@münchen.de``, ``иван@пример.рф``. Spelled as
code point ranges because Python's ``re`` (the SDK) has no ``\p{L}`` and the two engines
(Rust's regex in Polars, Python's ``re``) must find the same matches."""
_CJK = r"\u3041-\u30FA\u30FC-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uAC00-\uD7A3\uF900-\uFAFF"
"""Kana, CJK ideographs, Hangul: runs without spaces, kept apart from Latin letters so that
``请发邮件到user@example.com谢谢`` yields ``user@example.com``."""
PATTERNS: dict[str, str] = {
    "email": (
        rf"(?:[A-Za-z0-9._%+{_WORD_SCRIPTS}-]+|[0-9{_CJK}]+)"
        rf"@(?:[A-Za-z0-9{_WORD_SCRIPTS}-]+|[0-9{_CJK}-]+)"
        rf"(?:\.(?:[A-Za-z0-9{_WORD_SCRIPTS}-]+|[0-9{_CJK}-]+))*"
        rf"\.(?:[A-Za-z]{{2,}}|[{_WORD_SCRIPTS}]{{2,}}|[{_CJK}]{{2,}})"
    ),
    "api_key": (
        r"(?:\b(?:sk|pk|rk)-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}"
        r"|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36}\b"
        r"|\bxox[baprs]-[A-Za-z0-9-]{10,}|\bAIza[0-9A-Za-z_-]{35}"
        r"|\b[Bb]earer\s+[A-Za-z0-9._~+/-]{20,}=*)"
    ),
    "card": r"\b\d(?:[ -]?\d){12,18}\b",
    "phone": r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\b\d{2,4})[\s.-]\d{3,4}[\s.-]\d{3,4}\b",
}
KINDS = tuple(PATTERNS)
MODES = ("mask", "hash", "drop")


@dataclass(frozen=True)
class Redaction:
    """What to redact (kind -> mode) and the salt of *hash*; the default masks every kind."""

    modes: Mapping[str, str] = field(default_factory=lambda: dict.fromkeys(KINDS, "mask"))
    salt: str = ""

    def __post_init__(self) -> None:
        for kind, mode in self.modes.items():
            if kind not in PATTERNS:
                raise ValueError(f"redaction: unknown kind {kind!r}; use {', '.join(KINDS)}")
            if mode not in MODES:
                raise ValueError(f"redaction: mode {mode!r} is not one of {', '.join(MODES)}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Redaction:
        """From a mapping shaped like the ``redaction`` section of ``pyflare.yaml``."""
        default = str(section.get("mode", "mask"))
        kinds = section.get("kinds", list(KINDS))
        if isinstance(kinds, Mapping):
            modes = {str(k): str(v) for k, v in kinds.items()}
        else:
            modes = {str(k): default for k in kinds}
        return cls(modes, str(section.get("salt", "")))


def luhn_ok(candidate: str) -> bool:
    """Whether a run of 13 to 19 digits passes the Luhn check (a plausible card number)."""
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _replacement(kind: str, mode: str, match: str, salt: str) -> str:
    if mode == "mask":
        return f"[REDACTED:{kind}]"
    if mode == "hash":
        return f"[{kind}:{hashlib.sha256((salt + match).encode()).hexdigest()[:12]}]"
    return ""


class Redactor:
    """Applies a :class:`Redaction` to strings."""

    def __init__(self, redaction: Redaction | None = None) -> None:
        self.redaction = redaction or Redaction()
        self._regexes = [
            (kind, mode, re.compile(PATTERNS[kind])) for kind, mode in self.redaction.modes.items()
        ]

    def __call__(self, text: str) -> str:
        """``text`` with every configured kind replaced; longest matches first, as the CLI."""
        found: dict[str, str] = {}
        for kind, mode, regex in self._regexes:
            for match in regex.finditer(text):
                value = match.group(0)
                if value in found or (kind == "card" and not luhn_ok(value)):
                    continue
                found[value] = _replacement(kind, mode, value, self.redaction.salt)
        if not found:
            return text
        ordered = sorted(found, key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(value) for value in ordered))
        return pattern.sub(lambda m: found[m.group(0)], text)


def make_redactor(option: bool | str | Redaction | Mapping[str, Any] | None) -> Redactor | None:
    """The redactor ``init(redaction=...)`` asks for.

    ``True`` (the default): mask every kind; ``False``/``None``: off; ``"mask"``, ``"hash"``
    or ``"drop"``: that mode for every kind; a :class:`Redaction`; or a mapping shaped like
    the ``redaction`` section of ``pyflare.yaml`` (``mode``, ``kinds``, ``salt``).
    """
    if option is None or option is False:
        return None
    if option is True:
        return Redactor()
    if isinstance(option, str):
        return Redactor(Redaction.from_config({"mode": option}))
    if isinstance(option, Redaction):
        return Redactor(option)
    return Redactor(Redaction.from_config(option))
