"""What ``pyflare eval`` prints: the summary per evaluator, the gate's verdict, a run's
results by label and by type. Evaluator names, labels and groups are data: plain text."""

from __future__ import annotations

import polars as pl
from rich.console import Console
from rich.text import Text

from pyflare_cli.analysis.eval.gate import GateResult
from pyflare_cli.analysis.eval.pii import ORDER
from pyflare_cli.render.output import emit
from pyflare_cli.render.sparkline import sparkline


def with_trend(summary: pl.DataFrame, series: pl.DataFrame) -> pl.DataFrame:
    """``summary`` with a ``trend`` sparkline of each evaluator's mean over time."""
    lines = {
        name: sparkline(group.get_column("mean").to_list())
        for (name,), group in series.group_by("evaluator", maintain_order=True)
    }
    return summary.with_columns(
        pl.col("evaluator").replace_strict(lines, default="", return_dtype=pl.String).alias("trend")
    )


def emit_summary(summary: pl.DataFrame, fmt: str, out: Console, title: str) -> None:
    if fmt == "table" and summary.height == 0:
        out.print(Text(f"no evaluation results in {title}"))
        return
    emit(summary, fmt, out, title=None if fmt != "table" else title)


def emit_gate(result: GateResult, out: Console, err: Console) -> None:
    for name in result.missing:
        err.print(Text(f"no scores for {name} in the window: the gate cannot pass"))
    for line in result.failures:
        out.print(Text(f"FAIL {line}"))
    if not result.failures and not result.missing:
        out.print(Text(f"ok: {result.checked} group(s) within their thresholds"))


def by_label(results: pl.DataFrame) -> pl.DataFrame:
    """A run's results by label: spans and mean score."""
    return (
        results.group_by("label")
        .agg(pl.len().alias("spans"), pl.col("score").mean().alias("mean_score"))
        .sort("label")
    )


def pii_types(results: pl.DataFrame) -> pl.DataFrame:
    """The ``pii`` findings by type, over all spans of a run."""
    dtype = pl.Struct(dict.fromkeys(ORDER, pl.Int64))
    found = results.select(pl.col("details").str.json_decode(dtype)).unnest("details").sum()
    return found.transpose(include_header=True, header_name="type", column_names=["found"])


def emit_run(results: pl.DataFrame, evaluator: str, fmt: str, out: Console) -> None:
    if fmt != "table":
        emit(results.drop("details"), fmt, out)
        return
    stored = "stored in the evaluations dataset"
    out.print(Text(f"{evaluator}: scored {results.height} span(s), {stored}"))
    if results.height == 0:
        return
    emit(by_label(results), "table", out)
    if evaluator == "pii":
        emit(pii_types(results), "table", out, title="found by type")
