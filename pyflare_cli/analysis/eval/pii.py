"""The ``pii`` evaluator: personal data and secrets in span inputs and outputs, by type.

The patterns of the kinds redaction knows (email, phone, api_key, card) are the ones of
``ingest.redaction`` (one definition): the caller passes them in, as analyses import
nothing above ``schema``. Two kinds redaction does not rewrite are defined here,
:data:`EXTRA_PATTERNS` (IBANs, IP addresses). Card numbers must pass the Luhn check and
IBANs the ISO 13616 mod-97 check, both as Polars expressions.

Vectorised: for each text column, each kind in :data:`ORDER` is extracted with one regex
and then blanked, so a later kind never re-counts it (an IP is not also a phone number,
a card number never a phone number). A span scores 1.0 with the label ``pii`` when
anything is found, else 0.0 ``clean``; ``details`` holds the counts by type and column.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
EXTRA_PATTERNS: dict[str, str] = {
    "iban": r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b",
    "ip": (
        rf"\b(?:{_OCTET}\.){{3}}{_OCTET}\b"
        r"|\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b"
        r"|\b(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}:){0,5}[0-9A-Fa-f]{1,4}\b"
    ),
}
ORDER = ("email", "api_key", "iban", "ip", "card", "phone")
"""Extraction order: earlier kinds are blanked before later ones look."""
TEXT = ("input_text", "output_text")
VERSION = "1"


def luhn_valid(candidate: pl.Expr) -> pl.Expr:
    """Whether a run of digits (separators allowed) passes the Luhn check; 13-19 digits."""
    digits = candidate.str.replace_all(r"\D", "")
    length = digits.str.len_chars()
    total: pl.Expr = pl.lit(0, pl.Int32)
    for i in range(19):
        digit = digits.str.slice(length.cast(pl.Int64) - 1 - i, 1).cast(pl.Int32, strict=False)
        if i % 2:
            digit = digit * 2
            digit = pl.when(digit > 9).then(digit - 9).otherwise(digit)
        total = total + pl.when(length > i).then(digit).otherwise(0)
    return length.is_between(13, 19) & (total % 10 == 0)


def iban_valid(candidate: pl.Expr) -> pl.Expr:
    """The ISO 13616 check: move the first four characters to the end, letters to 10..35,
    and the number mod 97 must be 1 (computed seven digits at a time)."""
    compact = candidate.str.replace_all(" ", "")
    moved = compact.str.slice(4) + compact.str.slice(0, 4)
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    number = moved.str.replace_many(letters, [str(10 + i) for i in range(26)])
    rest: pl.Expr = pl.lit(0, pl.Int64)
    for chunk in range(10):
        # An empty piece multiplies by 10**0 and adds 0: ``rest`` is kept, with no branch
        # (a when/then on ``rest`` would copy the expression tree at every step).
        piece = number.str.slice(chunk * 7, 7)
        value = piece.cast(pl.Int64, strict=False).fill_null(0)
        rest = (rest * pl.lit(10, pl.Int64).pow(piece.str.len_chars()) + value) % 97
    return compact.str.len_chars().is_between(15, 34) & (rest == 1)


def _valid(kind: str) -> pl.Expr:
    if kind == "card":
        return luhn_valid(pl.element())
    if kind == "iban":
        return iban_valid(pl.element())
    return pl.lit(True)


def pii_counts(spans: pl.LazyFrame, patterns: Mapping[str, str]) -> pl.LazyFrame:
    """One row per span with text: ``<kind>_<column>`` counts for every kind and column."""
    all_patterns = {**patterns, **EXTRA_PATTERNS}
    missing = [k for k in ORDER if k not in all_patterns]
    if missing:
        raise ValueError(f"no pattern for {', '.join(missing)}")
    frame = spans.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in TEXT)).select(
        "trace_id", "span_id", pl.col("start_time").alias("time"), *TEXT
    )
    for column in TEXT:
        frame = frame.with_columns(pl.col(column).fill_null("").alias("_text"))
        for kind in ORDER:
            # One step per kind, so each regex runs once on the text the others left.
            found = pl.col("_text").str.extract_all(all_patterns[kind])
            frame = frame.with_columns(
                found.list.eval(_valid(kind)).list.sum().fill_null(0).alias(f"{kind}_{column}"),
                pl.col("_text").str.replace_all(all_patterns[kind], " "),
            )
    return frame.drop("_text", *TEXT)


def pii_results(spans: pl.LazyFrame, patterns: Mapping[str, str]) -> pl.LazyFrame:
    """Score, label, explanation and details of the ``pii`` evaluator per span."""
    names = [f"{kind}_{column}" for column in TEXT for kind in ORDER]
    total = pl.sum_horizontal(names)
    pieces = [
        pl.when(pl.col(f"{kind}_{column}") > 0).then(
            pl.format("{} {} in {}", pl.col(f"{kind}_{column}"), pl.lit(kind), pl.lit(column))
        )
        for column in TEXT
        for kind in ORDER
    ]
    per_kind = {kind: pl.sum_horizontal(f"{kind}_{column}" for column in TEXT) for kind in ORDER}
    return pii_counts(spans, patterns).select(
        "trace_id",
        "span_id",
        "time",
        pl.when(total > 0).then(1.0).otherwise(0.0).alias("score"),
        pl.when(total > 0).then(pl.lit("pii")).otherwise(pl.lit("clean")).alias("label"),
        pl.concat_list(pieces).list.drop_nulls().list.join(", ").alias("explanation"),
        pl.struct([n.alias(kind) for kind, n in per_kind.items()])
        .struct.json_encode()
        .alias("details"),
    )
