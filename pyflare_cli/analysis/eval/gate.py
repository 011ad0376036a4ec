"""The CI gate over evaluation results: thresholds per evaluator, failing groups, and
evaluators with no scores (fail closed: a gate on nothing is not a pass)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from pyflare_cli.analysis.eval.summary import Threshold


@dataclass(frozen=True)
class GateResult:
    """What the gate found: failing groups (exit 1) and evaluators without scores (exit 2)."""

    failures: tuple[str, ...]
    missing: tuple[str, ...]
    checked: int


def parse_threshold(text: str, option: str) -> Threshold:
    """``name=0.8`` of ``--min``/``--max``; ValueError with a sentence when it is not."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"{option} {text!r}: use NAME=NUMBER, e.g. faithfulness=0.8")
    try:
        bound = float(value)
    except ValueError:
        raise ValueError(f"{option} {text!r}: {value!r} is not a number") from None
    if bound != bound:
        raise ValueError(f"{option} {text!r}: NaN is not a threshold")
    if option == "--min":
        return Threshold(name.strip(), minimum=bound)
    return Threshold(name.strip(), maximum=bound)


def check(summary: pl.DataFrame, thresholds: Sequence[Threshold], by: Sequence[str]) -> GateResult:
    """Each threshold against the mean of each (evaluator, group) row of ``summary``."""
    failures: list[str] = []
    missing: list[str] = []
    checked = 0
    for bound in thresholds:
        rows = summary.filter((pl.col("evaluator") == bound.evaluator) & (pl.col("scored") > 0))
        if rows.height == 0:
            missing.append(bound.evaluator)
            continue
        for row in rows.iter_rows(named=True):
            checked += 1
            mean = row["mean"]
            low = bound.minimum is not None and mean < bound.minimum
            high = bound.maximum is not None and mean > bound.maximum
            if low or high:
                group = ", ".join(f"{b}={row[b]}" for b in by) or "all spans"
                failures.append(
                    f"{bound.evaluator} {group}: mean {mean:.4g} (n={row['scored']}), "
                    f"wanted {bound.describe()}"
                )
    return GateResult(tuple(failures), tuple(missing), checked)
