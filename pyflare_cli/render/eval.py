"""What ``pyflare eval`` prints: the summary per evaluator, the gate's verdict, a run's
results by label and by type. Evaluator names, labels and groups are data: plain text."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl
from rich.console import Console
from rich.text import Text

from pyflare_cli.analysis.eval.gate import GateResult
from pyflare_cli.analysis.eval.judge import ANSWER_TOKENS, CHARS_PER_TOKEN, MAX_TOKENS
from pyflare_cli.analysis.eval.pii import ORDER
from pyflare_cli.render.output import emit
from pyflare_cli.render.sparkline import sparkline

if TYPE_CHECKING:  # the judge's module imports httpx and the price tables: not for summary
    from pyflare_cli.query.judge import JudgePlan, Usage


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


def _usd(value: float | None) -> str:
    return "unknown (no price for the model)" if value is None else f"${value:,.4f}"


def emit_judge_plan(
    plan: JudgePlan,
    prompt: str,
    model: str,
    endpoint: str,
    typical: float | None,
    most: float | None,
    err: Console,
) -> None:
    """The estimate printed before a judge run sends anything."""
    if plan.requests == 0:
        err.print(Text("judge: no LLM span with an output in the window: nothing to judge"))
        return
    err.print(
        Text(
            f"judge {prompt} with {model} at {endpoint}: {plan.requests:,} request(s), "
            f"~{plan.input_tokens:,} input tokens (estimated at {CHARS_PER_TOKEN} characters "
            f"a token), ~{plan.requests * ANSWER_TOKENS:,} output tokens"
        )
    )
    err.print(
        Text(
            f"estimated cost: {_usd(typical)}; at most {_usd(most)} if every verdict "
            f"takes {MAX_TOKENS} tokens"
        )
    )
    if typical is None:
        err.print(
            Text(
                f"warning: {model} has no price in genai-prices or the configured rules; "
                "add a rule to pyflare.yaml or pass --prices to see the cost"
            )
        )


def emit_judge_run(results: pl.DataFrame, used: Usage, err: Console) -> None:
    """What a judge run used, and its errors (stored without a score) named loudly."""
    err.print(
        Text(
            f"used {used.input_tokens:,} input and {used.output_tokens:,} output tokens "
            f"in {used.calls:,} call(s): {_usd(used.cost_usd)}"
        )
    )
    if used.errors == 0:
        return
    err.print(Text(f"warning: {used.errors} span(s) got no verdict (stored as errors):"))
    reasons = (
        results.filter(pl.col("score").is_null())
        .group_by("explanation")
        .len()
        .sort("len", "explanation", descending=[True, False])
    )
    for reason, count in reasons.head(5).iter_rows():
        err.print(Text(f"  {count} x {reason}"))


def emit_health(table: pl.DataFrame, fmt: str, out: Console, title: str) -> None:
    """The health table: score, status and the parts, rounded for reading on a terminal."""
    if fmt != "table":
        emit(table, fmt, out)
        return
    shown = table.with_columns(
        pl.col("health", "errors", "latency", "drift", "quality", "pass_rate").round(3),
        pl.col("error_rate").round(4),
        pl.col("p95_ms", "baseline_p95_ms").round(1),
    )
    emit(shown, "table", out, title=f"health {title}")


def emit_gate_lines(failures: list[str], out: Console) -> None:
    for line in failures:
        out.print(Text(f"FAIL {line}"))
