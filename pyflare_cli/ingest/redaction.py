"""Optional redaction of personal data and secrets at ingest, configured in ``pyflare.yaml``.

```yaml
redaction:
  mode: mask              # mask | hash | drop: the default for every kind
  kinds: [email, phone, api_key, card]   # or a mapping kind -> mode
  attributes: [http.request.body]        # more attribute keys to scan
  salt: change-me         # for hash
```

``input_text``, ``output_text`` and the attributes they were copied from are always
scanned, so a redacted prompt does not survive in ``attributes``. *mask* replaces a match
with ``[REDACTED:<kind>]``, *hash* with ``[<kind>:<12 hex of sha256(salt + match)>]``
(the same value always gives the same hash, so joins and counts still work), *drop*
removes the match. Card numbers must pass the Luhn check.

Vectorised: candidate matches are extracted with one regex per kind, the (few) distinct
matches get their replacement in Python, and ``str.replace_many`` rewrites the columns.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import polars as pl

from pyflare_cli import semconv

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
TEXT_COLUMNS = ("input_text", "output_text")


@dataclass(frozen=True)
class RedactionConfig:
    """What to redact and how."""

    modes: dict[str, str] = field(default_factory=lambda: dict.fromkeys(KINDS, "mask"))
    attributes: tuple[str, ...] = ()
    salt: str = ""


def luhn_ok(candidate: str) -> bool:
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


def _attribute_regex(config: RedactionConfig) -> str:
    event_keys = {
        rule.key.split(":", 2)[2]
        for rule in semconv.RULES
        if rule.column in TEXT_COLUMNS and rule.key.startswith("event:")
    }
    keys = sorted(semconv.text_source_keys() | event_keys | set(config.attributes))
    parts = []
    for key in keys:
        pieces = key.split(semconv.INDEX_PLACEHOLDER)
        parts.append("\\d+".join(re.escape(piece) for piece in pieces))
    return "^(?:" + "|".join(parts) + ")$"


def redact(spans: pl.DataFrame, config: RedactionConfig) -> pl.DataFrame:
    """``spans`` with every configured kind of data redacted in text and attributes.

    Scanned: ``input_text``, ``output_text``, and the values of span and event attributes
    whose key feeds those columns or is listed in ``config.attributes``.
    """
    if spans.height == 0 or not config.modes:
        return spans
    key_regex = _attribute_regex(config)
    key = pl.element().struct.field("key")
    value = pl.element().struct.field("value")

    def scanned_values(maps: pl.DataFrame) -> pl.DataFrame:
        return (
            maps.select(pl.col("map").map.entries().alias("kv"))
            .explode("kv")
            .unnest("kv")
            .filter(pl.col("key").str.contains(key_regex))
            .select(pl.col("value").alias("text"))
        )

    event_maps = (
        spans.select(pl.col("events"))
        .explode("events")
        .select(pl.col("events").struct.field("attributes").alias("map"))
    )
    values = pl.concat(
        [spans.select(pl.col(c).alias("text")) for c in TEXT_COLUMNS]
        + [scanned_values(spans.select(pl.col("attributes").alias("map")))]
        + [scanned_values(event_maps)]
    ).drop_nulls()
    # Longest matches first, so a card number inside a longer phone-like run is not split.
    found: dict[str, str] = {}
    for kind, mode in config.modes.items():
        matches = values.select(pl.col("text").str.extract_all(PATTERNS[kind])).explode("text")
        for match in matches.get_column("text").drop_nulls().unique().to_list():
            if match in found or (kind == "card" and not luhn_ok(match)):
                continue
            found[match] = _replacement(kind, mode, match, config.salt)
    if not found:
        return spans
    patterns = sorted(found, key=len, reverse=True)
    replacements = [found[p] for p in patterns]

    def scrub(expr: pl.Expr) -> pl.Expr:
        return expr.str.replace_many(patterns, replacements, leftmost=True)

    def scrub_map(column: pl.Expr) -> pl.Expr:
        return (
            column.map.entries()
            .list.eval(
                pl.struct(
                    key,
                    pl.when(key.str.contains(key_regex))
                    .then(scrub(value))
                    .otherwise(value)
                    .alias("value"),
                )
            )
            .cast(spans.schema["attributes"])
        )

    return spans.with_columns(
        *(scrub(pl.col(c)).alias(c) for c in TEXT_COLUMNS),
        scrub_map(pl.col("attributes")).alias("attributes"),
        pl.col("events")
        .list.eval(pl.element().struct.with_fields(scrub_map(pl.field("attributes"))))
        .alias("events"),
    )
