"""What `pyflare drift` compares: a model's spans turned into one column per feature.

Features come from span columns and attributes (tokens, duration, cost, text lengths,
finish reason, ...), from text descriptors that need no model download (share of
non-ASCII characters, out-of-vocabulary share against the reference vocabulary), and from
the ``embedding`` column. Pure and lazy where the data is big; the out-of-vocabulary
descriptor works on a bounded sample because it needs the words of every text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

FeatureKind = Literal["numerical", "categorical", "text", "embedding", "attribute"]
"""``attribute``: an ``attr.<key>`` whose values decide, once read, if it is numerical."""
DriftType = Literal["feature", "prediction", "embedding"]

MODEL_KINDS = ("llm", "embedding")
"""The AI span types that carry a model's own inputs and outputs (not agent or chain spans)."""

NONE_CATEGORY = "(none)"
"""Categorical features keep missing values as a category: a rise of `tool_name` unset is news."""

TOKEN = r"[\p{L}\p{N}_'-]+"
WORD = r"^\p{L}[\p{L}']*$"
"""Only all-letter tokens are words: ids, hashes and numbers are new every day by nature."""
NOT_WORD = r"[\p{L}\p{N}_'-]*[\p{N}_-][\p{L}\p{N}_'-]*"
"""A whole TOKEN with a digit, ``_`` or ``-`` in it (a match starts where its token starts
and takes all of it): blanking these leaves the tokens of letters and apostrophes only."""


@dataclass(frozen=True)
class Feature:
    """One compared quantity: its name in reports, its kind and whether it is an input."""

    name: str
    kind: FeatureKind
    drift_type: DriftType
    help: str

    @property
    def is_text(self) -> bool:
        return self.kind == "text"


def _f(name: str, kind: FeatureKind, drift_type: DriftType, help: str) -> Feature:
    return Feature(name, kind, drift_type, help)


BUILT_IN: tuple[Feature, ...] = (
    _f("input_tokens", "numerical", "feature", "input tokens per call"),
    _f("prompt_chars", "numerical", "feature", "prompt length in characters"),
    _f("prompt.non_ascii", "text", "feature", "share of non-ASCII characters in the prompt"),
    _f("prompt.oov", "text", "feature", "share of prompt words unseen in the reference"),
    _f("provider", "categorical", "feature", "AI provider"),
    _f("output_tokens", "numerical", "prediction", "output tokens per call"),
    _f("completion_chars", "numerical", "prediction", "completion length in characters"),
    _f("completion.non_ascii", "text", "prediction", "share of non-ASCII in the completion"),
    _f("completion.oov", "text", "prediction", "share of completion words unseen in reference"),
    _f("finish_reason", "categorical", "prediction", "why generation stopped"),
    _f("tool_name", "categorical", "prediction", "the tool the call is about"),
    _f("total_tokens", "numerical", "prediction", "input + output tokens"),
    _f("duration_ms", "numerical", "prediction", "call duration in milliseconds"),
    _f("cost_usd", "numerical", "prediction", "call cost in USD"),
    _f("status", "categorical", "prediction", "span status (ok, error, unset)"),
    _f("embedding", "embedding", "embedding", "the span's embedding vector"),
)
FEATURES = {f.name: f for f in BUILT_IN}

_COLUMN_EXPRS: dict[str, pl.Expr] = {
    "input_tokens": pl.col("input_tokens").cast(pl.Float64),
    "output_tokens": pl.col("output_tokens").cast(pl.Float64),
    "total_tokens": pl.col("total_tokens").cast(pl.Float64),
    "duration_ms": pl.col("duration_ns").cast(pl.Float64) / 1e6,
    "cost_usd": pl.col("cost_usd").cast(pl.Float64),
    "prompt_chars": pl.col("input_text").str.len_chars().cast(pl.Float64),
    "completion_chars": pl.col("output_text").str.len_chars().cast(pl.Float64),
    "provider": pl.col("provider"),
    "finish_reason": pl.col("finish_reason"),
    "tool_name": pl.col("tool_name"),
    "status": pl.col("status_code"),
    "embedding": pl.col("embedding"),
}
TEXT_SOURCES = {"prompt": "input_text", "completion": "output_text"}


def parse_feature(name: str, kind: FeatureKind = "attribute") -> Feature:
    """A built-in feature, or ``attr.<key>`` of ``kind`` (decided by its values by default)."""
    if name in FEATURES:
        return FEATURES[name]
    if name.startswith("attr.") and len(name) > 5:
        if kind not in ("numerical", "categorical", "attribute"):
            raise ValueError(f"{name}: an attribute is numerical or categorical")
        return Feature(name, kind, "feature", f"span attribute {name[5:]}")
    known = ", ".join(FEATURES)
    raise ValueError(f"unknown feature {name!r}: use one of {known} or attr.<key>")


def model_filter(model: str | None) -> pl.Expr:
    """The calls of one model (response or request name), or of every model when None.

    Only LLM and embedding spans: an agent span that names its model is not a call of it.
    """
    kind = pl.col("ai_kind").is_null() | pl.col("ai_kind").is_in(MODEL_KINDS)
    if model is None:
        return kind & pl.col("model").is_not_null()
    named = (pl.col("model") == model) | (pl.col("request_model") == model)
    return named & kind


def model_spans(spans: pl.LazyFrame, model: str) -> pl.LazyFrame:
    return spans.filter(model_filter(model))


def models_in(spans: pl.LazyFrame) -> pl.LazyFrame:
    """Each model with calls in ``spans`` and how many (``model``, ``spans``)."""
    return (
        spans.filter(model_filter(None))
        .group_by("model")
        .agg(pl.len().alias("spans"))
        .sort("model")
    )


def feature_expr(feature: Feature) -> pl.Expr:
    """The column of a numerical, categorical or embedding feature (not text descriptors)."""
    if feature.name.startswith("attr."):
        raw = pl.col("attributes").map.get(feature.name[5:])
        expr = raw.cast(pl.Float64, strict=False) if feature.kind == "numerical" else raw
    else:
        expr = _COLUMN_EXPRS[feature.name]
    if feature.kind == "categorical":
        expr = expr.cast(pl.String).fill_null(NONE_CATEGORY)
    return expr.alias(feature.name)


def non_ascii_share(column: str) -> pl.Expr:
    """Share of characters outside ASCII; null for a missing or empty text."""
    text = pl.col(column)
    length = text.str.len_chars()
    share = text.str.count_matches(r"[^\x00-\x7F]").cast(pl.Float64) / length
    return pl.when(length > 0).then(share).otherwise(None)


def numeric_share(values: pl.Series) -> float:
    """Share of an attribute's set values that read as numbers (1.0 when none is set)."""
    present = values.drop_nulls()
    if present.len() == 0:
        return 1.0
    parsed = present.cast(pl.Float64, strict=False).is_not_null().sum()
    return int(parsed) / present.len()


def feature_frame(
    spans: pl.LazyFrame, features: list[Feature], extra: tuple[pl.Expr, ...] = ()
) -> pl.LazyFrame:
    """One row per span, one column per feature (and ``extra``); text descriptors but OOV.

    The raw texts stay (``input_text``, ``output_text``) when an OOV descriptor is asked
    for, so :func:`oov_shares` can read them from a sample. ``attribute`` features stay
    strings until :mod:`report` has seen their values. ``model`` is the name the call asked
    for (request model, else response model): a failed call carries only that one, so
    grouping by the response name would split a model's errors off into another model.
    """
    exprs: list[pl.Expr] = list(extra)
    keep_text: set[str] = set()
    for feature in features:
        if feature.kind != "text":
            exprs.append(feature_expr(feature))
            continue
        source, descriptor = feature.name.split(".", 1)
        column = TEXT_SOURCES[source]
        if descriptor == "non_ascii":
            exprs.append(non_ascii_share(column).alias(feature.name))
        else:
            keep_text.add(column)
    exprs.extend(pl.col(c) for c in sorted(keep_text))
    call_model = pl.coalesce(pl.col("request_model"), pl.col("model")).alias("model")
    return spans.select(pl.col("start_time"), call_model, *exprs)


def _words(texts: pl.Series, first_row: int = 0) -> pl.LazyFrame:
    """(row, word) pairs, each word once per text, lower-cased; rows count from ``first_row``."""
    # The tokens that are WORDs, without testing WORD on each token: blank the tokens with
    # a digit, "_" or "-", take the remaining runs of letters and apostrophes (each a whole
    # token), keep those starting with a letter; each text's distinct ones first (cheaper).
    rows = pl.int_range(first_row, first_row + texts.len(), eager=True)
    return (
        pl.DataFrame({"row": rows, "text": texts})
        .lazy()
        .select(
            "row",
            pl.col("text")
            .str.to_lowercase()
            .str.replace_all(NOT_WORD, " ")
            .str.extract_all(r"[\p{L}']+")
            .list.unique()
            .list.eval(pl.element().filter(~pl.element().str.starts_with("'"))),
        )
        .explode("text")
        .drop_nulls("text")
        .rename({"text": "word"})
    )


SLICE_TEXTS = 500
"""Texts per parallel slice of the word split, at the least (fewer slices below that)."""


def split_words(*windows: pl.Series) -> list[pl.DataFrame]:
    """:func:`_words` of each window, its texts cut into one slice per thread and every
    slice collected at once: the split is most of drift's time and one query runs it on
    one core. The same frames as one query per window, in the same row order."""
    threads = pl.thread_pool_size()
    queries: list[pl.LazyFrame] = []
    owners: list[int] = []
    for window, texts in enumerate(windows):
        parts = max(1, min(threads, texts.len() // SLICE_TEXTS))
        size = -(-texts.len() // parts)
        for start in range(0, max(texts.len(), 1), max(size, 1)):
            queries.append(_words(texts.slice(start, size), start))
            owners.append(window)
    done = pl.collect_all(queries)
    return [
        pl.concat([frame for frame, owner in zip(done, owners, strict=True) if owner == window])
        for window in range(len(windows))
    ]


def oov_shares(reference: pl.Series, current: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Per text, the share of its distinct words not in the reference vocabulary.

    A reference text is scored leave-one-out (a word counts as unseen when no *other*
    reference text has it), or every reference text would score 0 against its own
    vocabulary and any current window would look drifted. Missing or word-less texts
    score null.
    """
    ref_words, cur_words = split_words(reference, current)
    frequency = ref_words.group_by("word").agg(pl.len().alias("df"))

    def shares(words: pl.DataFrame, unseen: pl.Expr, n: int) -> pl.Series:
        scored = (
            words.join(frequency, on="word", how="left")
            .group_by("row")
            .agg(unseen.mean().alias("oov"))
        )
        rows = pl.DataFrame({"row": pl.int_range(n, eager=True)})
        joined = rows.join(scored, on="row", how="left", maintain_order="left")
        return joined.get_column("oov").cast(pl.Float64)

    ref = shares(ref_words, (pl.col("df") <= 1).cast(pl.Float64), reference.len())
    cur = shares(cur_words, pl.col("df").is_null().cast(pl.Float64), current.len())
    return ref, cur
