"""Optional head sampling of incoming spans, configured in ``pyflare.yaml``.

A busy service can send far more traces than anyone will read; the OTLP receiver keeps a
fraction of them, per trace, before anything is written. It sees one batch at a time and
keeps no state, so each decision depends only on the trace id and on the spans of the
batch:

```yaml
sampling:
  ratio: 1.0            # for traces no rule matches
  keep_errors: true     # keep every trace with an error span in the batch
  rules:                # first match wins; a rule matches a span
    - service: chat-*   # glob on service_name
      ratio: 0.1
    - name: GET /healthz          # glob on the span name
      ratio: 0
    - attributes: {http.route: /healthz, deployment.environment.name: staging}
      ratio: 0.05
```

A trace's *ratio* is that of its root span when the root is in the batch, else the
largest ratio of its spans there. A trace is kept when ``R >= 2**56 - round(ratio * 2**56)``,
where ``R`` is the integer of the trace id's last 14 hex digits: the 56 bits W3C Trace
Context Level 2 guarantees random (the first 8 digits are a timestamp for X-Ray ids), and
the same rule as OpenTelemetry's ``TraceIdRatioBased`` sampler, so sampling here after an
SDK or Collector that sampled the same way keeps ``min(p1, p2)`` of the traces. The decision
is monotone: a trace kept at some ratio is kept at every higher ratio. See docs/sampling.md.

Vectorised: rules become one ``coalesce`` of ``when/then``, the per-trace ratio a window
expression.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

RANDOM_HEX_DIGITS = 14
"""The trace id's last 14 hex digits (56 bits) are its randomness."""

RANDOM_RANGE = 1 << (4 * RANDOM_HEX_DIGITS)


@dataclass(frozen=True)
class SamplingRule:
    """Spans matching every given field get ``ratio``; globs are case-insensitive."""

    ratio: float
    service: str | None = None
    name: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SamplingConfig:
    """Default ratio, whether error traces are always kept, and the ordered rules."""

    ratio: float = 1.0
    keep_errors: bool = True
    rules: tuple[SamplingRule, ...] = ()


_REGEX_META = frozenset("\\.+*?()|[]{}^$#&-~")


def _glob_regex(glob: str) -> str:
    """An anchored, case-insensitive regex for ``glob`` (``*`` any run, ``?`` one character)."""
    parts = []
    for ch in glob:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append("\\" + ch if ch in _REGEX_META else ch)
    return rf"(?is)\A{''.join(parts)}\z"


def _matches(rule: SamplingRule) -> pl.Expr:
    conditions = []
    if rule.service is not None:
        conditions.append(pl.col("service_name").str.contains(_glob_regex(rule.service)))
    if rule.name is not None:
        conditions.append(pl.col("name").str.contains(_glob_regex(rule.name)))
    for key, value in rule.attributes:
        regex = _glob_regex(value)
        conditions.append(
            pl.col("attributes").map.get(key).str.contains(regex).fill_null(False)
            | pl.col("resource_attributes").map.get(key).str.contains(regex).fill_null(False)
        )
    return pl.all_horizontal(conditions).fill_null(False)


def span_ratio(config: SamplingConfig) -> pl.Expr:
    """Each span's ratio: that of the first rule it matches, else ``config.ratio``."""
    # The first non-null of "this rule's ratio if it matches", in rule order.
    return pl.coalesce(
        *(pl.when(_matches(rule)).then(pl.lit(rule.ratio, pl.Float64)) for rule in config.rules),
        pl.lit(config.ratio, pl.Float64),
    )


def trace_randomness() -> pl.Expr:
    """``R``: the last 14 hex digits of ``trace_id`` as an integer in ``[0, 2**56)``.

    Null when they are not hex (not a canonical id).
    """
    trace_id = pl.col("trace_id")
    return (
        pl.when(trace_id.str.len_chars() >= RANDOM_HEX_DIGITS)
        .then(trace_id.str.slice(-RANDOM_HEX_DIGITS).str.to_integer(base=16, strict=False))
        .otherwise(None)
    )


def keep_expression(config: SamplingConfig) -> pl.Expr:
    """True for the spans ``config`` keeps; usable in a lazy ``filter``.

    A trace id without 14 hex digits at its end counts as kept unless its ratio is 0.
    """
    ratio = span_ratio(config)
    parent = pl.col("parent_span_id")
    is_root = parent.is_null() | (parent == "")
    trace_ratio = (
        pl.when(is_root).then(ratio).max().over("trace_id").fill_null(ratio.max().over("trace_id"))
    )
    # 2**56 - round(ratio * 2**56), not round((1 - ratio) * 2**56): exact for tiny ratios.
    threshold = RANDOM_RANGE - (trace_ratio * RANDOM_RANGE).round().cast(pl.Int64)
    keep = trace_randomness().fill_null(RANDOM_RANGE - 1) >= threshold
    if config.keep_errors:
        keep = keep | (pl.col("status_code") == "error").any().over("trace_id")
    return keep.fill_null(False)


def apply_sampling(spans: pl.DataFrame, config: SamplingConfig) -> pl.DataFrame:
    """The spans of ``spans`` that ``config`` keeps: same columns, same order."""
    if spans.height == 0 or (config.ratio >= 1 and all(r.ratio >= 1 for r in config.rules)):
        return spans
    return spans.filter(keep_expression(config))


def sampling_summary(before: int, after: int) -> str:
    """One line for logs: ``sampling kept 120 of 1,000 spans (12.0%)``."""
    share = f" ({100 * after / before:.1f}%)" if before else ""
    return f"sampling kept {after:,} of {before:,} spans{share}"
