"""``pyflare eval``: evaluation scores already in the traces, pyflare's own evaluators, a gate.

Thin: the scores come from :mod:`query.evaluations` (every convention into one table),
the figures from :mod:`analysis.eval`, and :mod:`render.eval` prints them.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.options import (
    ConfigOption,
    FormatOption,
    OutputFormat,
    StoreOption,
    UntilOption,
    WhereOption,
    WindowStartOption,
)
from pyflare_cli.errors import GateFailed, UsageError
from pyflare_cli.store.layout import read_store

if TYPE_CHECKING:
    import polars as pl

    from pyflare_cli.analysis.eval.summary import Threshold

GROUPS = ("model", "provider", "service", "version", "agent", "environment")
"""The keys of ``analysis.eval.summary.GROUPS``, named here so that help needs no Polars."""
OFFLINE = ("pii", "injection", "groundedness")
JUDGE_PROMPTS = ("hallucination", "relevance", "toxicity")
"""The keys of ``analysis.eval.judge.PROMPTS``."""

eval_app = typer.Typer(
    help="Quality and safety of LLM outputs: scores in the traces, offline evaluators, a CI gate."
    "\n\nExample:\n\n    pyflare eval summary --by model --since 7d",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

ByOption = Annotated[
    list[str] | None,
    typer.Option("--by", "-b", help=f"Group by: {', '.join(GROUPS)} or attr.<key>."),
]
PricesOption = Annotated[
    Path | None,
    typer.Option("--prices", help="judge: a LiteLLM price file for the judge model."),
]
MinOption = Annotated[
    list[str] | None,
    typer.Option("--min", help="NAME=VALUE: the mean score of NAME must be at least VALUE."),
]
MaxOption = Annotated[
    list[str] | None,
    typer.Option("--max", help="NAME=VALUE: the mean score of NAME must be at most VALUE."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")


def _groups(by: list[str] | None) -> list[str]:
    groups = by or []
    for name in groups:
        if name not in GROUPS and not (name.startswith("attr.") and len(name) > 5):
            raise UsageError(f"--by {name!r}: use {', '.join(GROUPS)} or attr.<key>")
    return groups


def _thresholds(minimum: list[str] | None, maximum: list[str] | None) -> list[Threshold]:
    from pyflare_cli.analysis.eval.gate import parse_threshold

    bounds = []
    for option, values in (("--min", minimum or []), ("--max", maximum or [])):
        for text in values:
            try:
                bounds.append(parse_threshold(text, option))
            except ValueError as exc:
                raise UsageError(str(exc)) from None
    names = [b.evaluator for b in bounds]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"--min/--max: one threshold per evaluator ({', '.join(twice)} twice)")
    return bounds


def _summary(
    root: Path,
    since: str,
    until: str | None,
    where: str | None,
    groups: list[str],
    bounds: list[Threshold],
) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    """(summary with change, trend series, window label) of the window."""
    import polars as pl

    from pyflare_cli.analysis.eval.summary import series, summarise, with_change, with_groups
    from pyflare_cli.query.evaluations import load_scores
    from pyflare_cli.query.spans import SpanQuery
    from pyflare_cli.query.windows import current_window

    at = now()
    window = current_window(since, until, at)
    thresholds = {b.evaluator: b for b in bounds}
    scores, spans = load_scores(root, SpanQuery(*window.query_bounds, where), at)
    before, before_spans = load_scores(root, SpanQuery(*window.previous().query_bounds, where), at)
    current = summarise(with_groups(scores, spans, groups), groups, thresholds)
    previous = summarise(with_groups(before, before_spans, groups), groups, thresholds)
    step = "1h" if window.length <= timedelta(days=2) else "1d"
    table, trend = pl.collect_all([with_change(current, previous, groups), series(scores, step)])
    return table, trend, window.label()


@eval_app.command("summary")
def summary(
    by: ByOption = None,
    since: WindowStartOption = "7d",
    until: UntilOption = None,
    where: WhereOption = None,
    minimum: MinOption = None,
    maximum: MaxOption = None,
    store: StoreOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Per evaluator: results, mean score, pass rate and the change against the previous window.

    A result passes when its score meets a --min/--max threshold, else when its label
    says so (pass, correct, factual, grounded, ...). Sources: OTel GenAI evaluation
    events and attributes, Phoenix eval.* columns, and `pyflare eval run`.

    Example:

        pyflare eval summary --by model --since 7d
    """
    from pyflare_cli.render.eval import emit_summary, with_trend
    from pyflare_cli.render.output import console

    groups = _groups(by)
    table, trend, label = _summary(
        read_store(store), since, until, where, groups, _thresholds(minimum, maximum)
    )
    if fmt == OutputFormat.table:
        table = with_trend(table, trend)
    emit_summary(table, fmt.value, console(), label)


@eval_app.command("check")
def check(
    by: ByOption = None,
    since: WindowStartOption = "7d",
    until: UntilOption = None,
    where: WhereOption = None,
    minimum: MinOption = None,
    maximum: MaxOption = None,
    store: StoreOption = None,
) -> None:
    """CI gate: exit 1 naming each group whose mean score breaks a threshold, exit 2 when an
    evaluator has no scores in the window (fail closed), else 0.

    Example:

        pyflare eval check --min faithfulness=0.8 --max pii=0.1 --by model
    """
    from pyflare_cli.analysis.eval.gate import check as gate
    from pyflare_cli.render.eval import emit_gate
    from pyflare_cli.render.output import console

    bounds = _thresholds(minimum, maximum)
    if not bounds:
        raise UsageError("eval check: give at least one --min NAME=VALUE or --max NAME=VALUE")
    groups = _groups(by)
    table, _, label = _summary(read_store(store), since, until, where, groups, bounds)
    result = gate(table, bounds, groups)
    emit_gate(result, console(), console(sys.stderr))
    if result.missing:
        raise UsageError(f"no scores for {', '.join(result.missing)} in {label}")
    if result.failures:
        raise GateFailed(f"{len(result.failures)} group(s) break their thresholds")


@eval_app.command("health")
def health(
    by: Annotated[
        str, typer.Option("--by", "-b", help="One score per model or per service.")
    ] = "model",
    since: WindowStartOption = "24h",
    until: UntilOption = None,
    where: WhereOption = None,
    minimum: MinOption = None,
    maximum: MaxOption = None,
    fail_below: Annotated[
        float | None,
        typer.Option("--fail-below", min=0, max=1, help="Exit 1 naming each group below this."),
    ] = None,
    config: ConfigOption = None,
    prices: PricesOption = None,
    store: StoreOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """One health score per model (or service) with its parts: errors, latency against the
    previous window, drift over the same windows and evaluation pass rates.

    health = weighted mean of the parts present (errors 0.3, latency 0.2, drift 0.2,
    quality 0.3); docs/eval.md has each part's formula.

    Example:

        pyflare eval health --by model --since 7d
    """
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query.eval_health import health_report
    from pyflare_cli.query.prices import price_rules
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.render.eval import emit_gate_lines, emit_health
    from pyflare_cli.render.output import console

    if by not in ("model", "service"):
        raise UsageError(f"--by {by!r}: use model or service")
    bounds = {b.evaluator: b for b in _thresholds(minimum, maximum)}
    at = now()
    window = current_window(since, until, at)
    root = read_store(store)
    rules, _ = price_rules(load_config(config), prices)
    table = health_report(root, window, where, by, at, bounds, rules)
    if table.height == 0:
        raise UsageError(f"eval health: no span with a {by} in {window.label()}")
    emit_health(table, fmt.value, console(), window.label())
    if fail_below is not None:
        from pyflare_cli.analysis.eval.health import below

        failing = below(table, by, fail_below)
        emit_gate_lines(failing, console() if fmt == OutputFormat.table else console(sys.stderr))
        if failing:
            raise GateFailed(f"{len(failing)} {by}(s) below health {fail_below:g}")


@eval_app.command("run")
def run(
    evaluator: Annotated[str, typer.Argument(help=f"One of: {', '.join(OFFLINE)}, judge.")],
    since: WindowStartOption = "24h",
    until: UntilOption = None,
    where: WhereOption = None,
    sample: Annotated[
        int | None,
        typer.Option("--sample", min=1, help="Score N traces (the same N on a re-run)."),
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option("--endpoint", help="judge: an OpenAI-compatible base URL, e.g. .../v1."),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="judge: the judge model.")] = None,
    prompt: Annotated[
        str,
        typer.Option("--prompt", help=f"judge: the shipped prompt: {', '.join(JUDGE_PROMPTS)}."),
    ] = "hallucination",
    api_key_env: Annotated[
        str,
        typer.Option("--api-key-env", help="judge: the environment variable holding the key."),
    ] = "OPENAI_API_KEY",
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="judge: requests at once.")
    ] = 4,
    retries: Annotated[
        int, typer.Option("--retries", min=0, max=10, help="judge: retries of a failed call.")
    ] = 3,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.01, help="judge: seconds per request.")
    ] = 60.0,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="judge: run without asking about the cost.")
    ] = False,
    config: ConfigOption = None,
    prices: PricesOption = None,
    store: StoreOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Score spans with an evaluator and store the results (a re-run replaces them).

    pii: emails, phones, card numbers (Luhn), IBANs, API keys, IPs in inputs and outputs.
    injection: prompt-injection and jailbreak rules on inputs and retrieved text.
    groundedness: the share of a RAG answer's sentences the retrieved documents support.
    judge: an LLM judges each LLM span (--prompt hallucination|relevance|toxicity) over an
    OpenAI-compatible endpoint; the estimated cost is shown first and asked about unless
    --yes (required when stdin is not a terminal).

    Example:

        pyflare eval run pii --since 7d

        pyflare eval run judge --endpoint https://api.openai.com/v1 --model gpt-4o-mini --yes
    """
    from pyflare_cli.query.evaluations import run_evaluator
    from pyflare_cli.query.spans import SpanQuery
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.render.eval import emit_run
    from pyflare_cli.render.output import console

    if evaluator not in (*OFFLINE, "judge"):
        raise UsageError(f"eval run {evaluator!r}: use {', '.join(OFFLINE)} or judge")
    at = now()
    window = current_window(since, until, at)
    root = read_store(store)
    query = SpanQuery(*window.query_bounds, where)
    if evaluator == "judge":
        from pyflare_cli.commands.eval_judge import JudgeOptions, run_judge

        options = JudgeOptions(
            endpoint, model, prompt, api_key_env, concurrency, retries, timeout, yes
        )
        run_judge(root, query, at, sample, options, config, prices, fmt.value)
        return
    results = run_evaluator(root, evaluator, query, at, sample)
    emit_run(results, evaluator, fmt.value, console())
