"""``pyflare cost``: spend by any dimension, prices and why, the costliest traces, the CI gate."""

from __future__ import annotations

import json
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
)
from pyflare_cli.errors import GateFailed, UsageError
from pyflare_cli.render.units import count, money
from pyflare_cli.store.layout import resolve_store

if TYPE_CHECKING:
    import polars as pl

    from pyflare_cli.analysis.cost.price_rules import PriceRule

DIMENSIONS = ("model", "provider", "service", "user", "session", "agent", "tool", "environment")
"""The keys of ``analysis.cost.report.DIMENSIONS``, named here so that help needs no Polars."""

cost_app = typer.Typer(
    help="LLM spend: by model, user, service or any attribute; prices; top traces; a CI gate."
    "\n\nExample:\n\n    pyflare cost --by model --since 7d",
    invoke_without_command=True,
    rich_markup_mode="markdown",
)

SinceDefault = Annotated[
    str, typer.Option("--since", help="Window start: 30m, 24h, 7d or an ISO date.")
]
PricesOption = Annotated[
    Path | None,
    typer.Option("--prices", help="A LiteLLM model_prices_and_context_window.json file."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(cost_app, name="cost")


def price_rules(config: Path | None, prices: Path | None) -> tuple[tuple[PriceRule, ...], str]:
    """Rules from ``pyflare.yaml`` then ``--prices``, and the price data version text."""
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query.prices import price_rules as rules_of

    return rules_of(load_config(config), prices)


@cost_app.callback()
def report(
    ctx: typer.Context,
    by: Annotated[
        list[str] | None,
        typer.Option("--by", "-b", help=f"Group by: {', '.join(DIMENSIONS)} or attr.<key>."),
    ] = None,
    every: Annotated[
        str | None, typer.Option("--every", help="Also per period: hour, day or week.")
    ] = None,
    since: SinceDefault = "7d",
    until: UntilOption = None,
    where: WhereOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    prices: PricesOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Cost, requests and tokens by any dimension, with the change against the previous period.

    Example:

        pyflare cost --by model --by user --since 7d
    """
    if ctx.invoked_subcommand is not None:
        return
    import polars as pl

    from pyflare_cli.analysis.cost.pricing import sum_micros, unpriced
    from pyflare_cli.analysis.cost.report import EVERY, cost_series, cost_table, with_change
    from pyflare_cli.query.spans import SpanQuery, load_spans
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.render.output import console, emit, to_json
    from pyflare_cli.render.sparkline import sparkline

    groups = by or []
    for name in groups:
        if name not in DIMENSIONS and not (name.startswith("attr.") and len(name) > 5):
            raise UsageError(f"--by {name!r}: use {', '.join(DIMENSIONS)} or attr.<key>")
    if every is not None and every not in EVERY:
        raise UsageError(f"--every {every!r}: use hour, day or week")
    at = now()
    root = resolve_store(store)
    rules, version = price_rules(config, prices)
    window = current_window(since, until, at)
    start, end, length = window.start, window.end, window.length
    current = load_spans(root, SpanQuery(*window.query_bounds, where), at, rules)
    previous = load_spans(root, SpanQuery(*window.previous().query_bounds, where), at, rules)
    table = cost_table(current, groups, every)
    if every is None:
        table = with_change(table, cost_table(previous, groups), groups)
    result, missing, totals, before_totals, series = pl.collect_all(
        [
            table,
            unpriced(current),
            current.select(sum_micros()),
            previous.select(sum_micros()),
            cost_series(current, "hour" if length <= timedelta(days=2) else "day"),
        ]
    )
    total = totals.item() or 0
    before = before_totals.item() or 0
    out = console()
    if fmt is OutputFormat.json:
        payload = {
            "since": start.isoformat(),
            "until": end.isoformat(),
            "total_usd": total / 1e6,
            "total_micros": total,
            "previous_usd": before / 1e6,
            "change": (total - before) / before if before else None,
            "price_data": version,
            "rows": json.loads(to_json(result.drop("cost_micros"))),
            "unpriced": json.loads(to_json(missing)),
        }
        out.print(json.dumps(payload, indent=2), markup=False, soft_wrap=True)
        return
    if fmt is not OutputFormat.table:
        emit(result.drop("cost_micros"), fmt.value, out)
        return
    change = f", {(total - before) / before:+.1%} vs the previous period" if before else ""
    out.print(
        f"cost {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC: {money(total / 1e6)}{change}",
        soft_wrap=True,
    )
    if series.height > 1:
        out.print(sparkline(series["cost_micros"].to_list()))
    emit(_display(result, groups, every), "table", out)
    _print_unpriced(out, missing)
    out.print(f"prices: {version}", soft_wrap=True, style="dim")


def _display(result: pl.DataFrame, groups: list[str], every: str | None) -> pl.DataFrame:
    import polars as pl

    columns: list[pl.Expr] = []
    if every is not None:
        columns.append(pl.col("period").dt.strftime("%Y-%m-%d %H:%M"))
    columns += [pl.col(name) for name in groups]

    def fmt(name: str, fn: object) -> pl.Expr:
        return pl.col(name).map_elements(fn, return_dtype=pl.String).alias(name)  # type: ignore[arg-type]

    columns += [
        fmt("cost_usd", money),
        pl.col("requests"),
        fmt("input_tokens", count),
        fmt("output_tokens", count),
        fmt("cached_tokens", count),
        fmt("reasoning_tokens", count),
        fmt("usd_per_request", lambda v: money(v)),
        fmt("usd_per_1k_tokens", lambda v: money(v)),
        pl.col("share").map_elements(lambda v: f"{v:.1%}", return_dtype=pl.String),
    ]
    if "change" in result.columns:
        columns.append(pl.col("change").map_elements(lambda v: f"{v:+.1%}", return_dtype=pl.String))
    if result.get_column("unpriced").sum():
        columns.append(pl.col("unpriced"))
    return result.select(columns)


def _print_unpriced(out: object, missing: pl.DataFrame) -> None:
    if missing.height == 0:
        return
    names = ", ".join(
        f"{m or '(no model)'} ({n})" for m, n in missing.select("model", "spans").rows()[:5]
    )
    spans, tokens = int(missing["spans"].sum()), int(missing["tokens"].sum())
    out.print(  # type: ignore[attr-defined]
        f"unpriced: {spans} span(s), {count(tokens)} tokens: {names}; "
        "see pyflare cost prices --missing",
        soft_wrap=True,
    )


@cost_app.command("prices")
def prices_cmd(
    model: Annotated[str | None, typer.Argument(help="A model name (as spans carry it).")] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="Its provider.")] = None,
    missing: Annotated[
        bool, typer.Option("--missing", help="List models in the store that have no price.")
    ] = False,
    since: SinceDefault = "30d",
    store: StoreOption = None,
    config: ConfigOption = None,
    prices: PricesOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Show the price a model resolves to and why, or every model of the store.

    `--missing` lists models without a price, with an override to paste into pyflare.yaml.

    Example:

        pyflare cost prices gpt-4o --provider openai
    """
    import polars as pl

    from pyflare_cli.analysis.cost.pricing import model_pairs, resolve
    from pyflare_cli.query.prices import resolutions
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.render.output import console, emit
    from pyflare_cli.store.scan import scan_spans

    rules, version = price_rules(config, prices)
    root = resolve_store(store)
    if model is not None:
        pairs = [(provider, model)]
    else:
        start = current_window(since, None, now()).start
        spans = scan_spans(root, start)
        pairs = [(p, m) for p, m in model_pairs(spans).sort("model").collect().iter_rows()]
    found = resolutions(pairs, root, rules) if model is None else [resolve(provider, model, rules)]
    rows = []
    for res in found:
        if missing and res.rates is not None:
            continue
        rates = res.rates.per_million_usd() if res.rates else {}
        rows.append(
            {
                "provider": res.provider,
                "model": res.model,
                **{
                    f"{k}_per_m": rates.get(k)
                    for k in ("input", "output", "cache_read", "cache_write", "reasoning")
                },
                "resolved_by": res.reason,
            }
        )
    frame = pl.DataFrame(rows, infer_schema_length=None)
    out = console()
    if frame.height == 0:
        out.print("every model has a price" if missing else "no models in the store")
        return
    if fmt is not OutputFormat.table:
        emit(frame, fmt.value, out)
        return
    emit(frame, "table", out)
    if missing:
        out.print("\nAdd a price to pyflare.yaml (USD per million tokens), e.g.:", soft_wrap=True)
        snippet = ["prices:"]
        for row in rows:
            snippet += [f"  - model: {row['model']}", "    input: 0.0", "    output: 0.0"]
        out.print("\n".join(snippet), markup=False)
    out.print(f"prices: {version}", style="dim", soft_wrap=True)


@cost_app.command("top")
def top(
    spans_mode: Annotated[
        bool, typer.Option("--spans", help="The costliest calls instead of traces.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many.")] = 10,
    since: SinceDefault = "7d",
    where: WhereOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    prices: PricesOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The most expensive traces (default) or single calls, with their ids.

    Example:

        pyflare cost top -n 5 --since 24h
    """
    from pyflare_cli.analysis.cost.report import top_spans_by_cost, top_traces_by_cost
    from pyflare_cli.query.spans import SpanQuery, load_spans
    from pyflare_cli.render.output import console, emit

    rules, _ = price_rules(config, prices)
    at = now()
    spans = load_spans(resolve_store(store), SpanQuery(since, None, where), at, rules)
    frame = (top_spans_by_cost if spans_mode else top_traces_by_cost)(spans, limit).collect()
    emit(frame.drop("cost_micros"), fmt.value, console())


@cost_app.command("check")
def check(
    max_total: Annotated[
        float | None, typer.Option("--max-total", help="Fail above this total (USD).")
    ] = None,
    max_per_request: Annotated[
        float | None,
        typer.Option("--max-per-request", help="Fail when one call costs more (USD)."),
    ] = None,
    budget_names: Annotated[
        list[str] | None,
        typer.Option("--budget", help="Fail when this budget is exceeded (repeatable)."),
    ] = None,
    fail_projected: Annotated[
        bool, typer.Option("--fail-projected", help="Also fail on budgets projected to exceed.")
    ] = False,
    since: SinceDefault = "24h",
    until: UntilOption = None,
    where: WhereOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    prices: PricesOption = None,
) -> None:
    """A CI gate: exit 0 when every limit holds, 1 when one is breached (and by how much).

    `--max-total` and `--max-per-request` apply to the `--since` window; `--budget NAME`
    checks a budget of pyflare.yaml in its own current period.

    Example:

        pyflare cost check --max-total 50 --max-per-request 0.25 --since 24h
    """
    import polars as pl

    from pyflare_cli.analysis.cost.pricing import sum_micros
    from pyflare_cli.query.spans import SpanQuery, load_spans
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.render.output import console

    if max_total is None and max_per_request is None and not budget_names:
        raise UsageError("give --max-total, --max-per-request and/or --budget NAME")
    budget_lines: list[str] = []
    if budget_names:
        from pyflare_cli.analysis.cost.budgets import breaches as budget_breaches

        statuses = ("exceeded", "projected") if fail_projected else ("exceeded",)
        budget_lines = budget_breaches(_budgets(budget_names, config, prices, store), statuses)
    rules, _ = price_rules(config, prices)
    at = now()
    window = current_window(since, until, at)
    spans = load_spans(resolve_store(store), SpanQuery(*window.query_bounds, where), at, rules)
    stats = spans.select(
        sum_micros().alias("total"),
        pl.col("cost_micros").max().alias("largest"),
    ).collect()
    total = (stats.item(0, "total") or 0) / 1e6
    largest = (stats.item(0, "largest") or 0) / 1e6
    breaches = list(budget_lines)
    if max_total is not None and total > max_total:
        breaches.append(
            f"total {money(total)} is over --max-total {money(max_total)} "
            f"by {money(total - max_total)} ({total / max_total:.0%})"
        )
    if max_per_request is not None and largest > max_per_request:
        breaches.append(
            f"a call costs {money(largest)}, over --max-per-request {money(max_per_request)}"
        )
    out = console()
    if breaches:
        for line in breaches:
            out.print(f"FAIL {line}", soft_wrap=True)
        raise typer.Exit(GateFailed.exit_code)
    out.print(f"ok: total {money(total)}, largest call {money(largest)}", soft_wrap=True)


def _budgets(
    names: list[str] | None, config: Path | None, prices: Path | None, store: Path | None
) -> pl.DataFrame:
    """The status of the configured budgets (``names`` selects some)."""
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query.budgets import budget_status

    cfg = load_config(config)
    chosen = cfg.budgets
    if names:
        known = {b.name for b in cfg.budgets}
        unknown = [n for n in names if n not in known]
        if unknown:
            listed = ", ".join(sorted(known)) or "none configured"
            raise UsageError(f"--budget {unknown[0]!r} is not in the config ({listed})")
        chosen = tuple(b for b in cfg.budgets if b.name in names)
    if not chosen:
        raise UsageError("no budgets: add a budgets section to pyflare.yaml (see docs/cost.md)")
    rules, _ = price_rules(config, prices)
    return budget_status(resolve_store(store), chosen, now(), rules)


@cost_app.command("budget")
def budget(
    names: Annotated[
        list[str] | None, typer.Option("--budget", help="Only these budgets (by name).")
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    prices: PricesOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Each budget: spent in the current period, projected at its end, and its status.

    Statuses: ok, warn (past its warn_at share), projected (to exceed by the period end
    at the last 7 days' rate), exceeded. Budgets are configured in pyflare.yaml.

    Example:

        pyflare cost budget --config pyflare.yaml
    """
    import polars as pl

    from pyflare_cli.render.output import console, emit

    frame = _budgets(names, config, prices, store)
    out = console()
    if fmt is not OutputFormat.table:
        emit(frame.drop("limit_micros", "spent_micros", "projected_micros"), fmt.value, out)
        return
    shown = frame.select(
        "name",
        "scope",
        "period",
        pl.col("spent_usd").map_elements(money, return_dtype=pl.String).alias("spent"),
        pl.col("limit_usd").map_elements(money, return_dtype=pl.String).alias("limit"),
        pl.col("share").map_elements(lambda v: f"{v:.0%}", return_dtype=pl.String),
        pl.col("projected_usd").map_elements(money, return_dtype=pl.String).alias("projected"),
        "unpriced_spans",
        "status",
    )
    emit(shown, "table", out)


@cost_app.command("forecast")
def forecast(
    days: Annotated[
        int, typer.Option("--days", "--horizon", min=1, max=366, help="Days ahead.")
    ] = 30,
    by: Annotated[
        str | None, typer.Option("--by", help=f"One forecast per {', '.join(DIMENSIONS)}.")
    ] = None,
    since: SinceDefault = "28d",
    level: Annotated[
        float, typer.Option("--level", min=0.5, max=0.99, help="Prediction interval level.")
    ] = 0.8,
    backtest_days: Annotated[
        int | None,
        typer.Option("--backtest", min=1, help="Fit on all but the last N days and score them."),
    ] = None,
    where: WhereOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    prices: PricesOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Daily spend forecast with a prediction interval, from whole UTC days of history.

    Needs at least 7 days of history (exit 2 with how many there are otherwise).

    Example:

        pyflare cost forecast --days 30 --since 28d
    """
    import polars as pl

    from pyflare_cli.analysis.cost import forecast as fc
    from pyflare_cli.analysis.cost.report import DIMENSIONS as COLUMNS
    from pyflare_cli.query.spans import SpanQuery, load_spans
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.render.output import console, emit
    from pyflare_cli.render.sparkline import sparkline

    if by is not None and by not in DIMENSIONS:
        raise UsageError(f"--by {by!r}: use one of {', '.join(DIMENSIONS)}")
    rules, version = price_rules(config, prices)
    at = now()
    today = at.replace(hour=0, minute=0, second=0, microsecond=0)
    start = current_window(since, None, at).start
    first_day = (start + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    query = SpanQuery(first_day.isoformat(), today.isoformat(), where)
    spans = load_spans(resolve_store(store), query, at, rules)
    if by is not None:
        spans = spans.with_columns(pl.col(COLUMNS[by]).alias(by))
    series = fc.daily_series(spans, by).collect()
    out = console()
    try:
        if backtest_days is not None:
            if by is not None:
                raise UsageError("--backtest scores the total; leave out --by")
            result = fc.backtest(series, backtest_days, level=level)
            mape = "n/a" if result.mape is None else f"{result.mape:.1%}"
            out.print(
                f"backtest: fitted on {result.days_fit} days, tested on {result.days_tested}: "
                f"{result.coverage:.0%} of days inside the {level:.0%} interval, MAPE {mape}",
                soft_wrap=True,
            )
            return
        if by is None:
            frame = fc.forecast_daily(series, days, level=level)
            total = fc.forecast_total(series, days, level=level)
            skipped: list[str] = []
        else:
            groups = fc.forecast_groups(series, by, days, level=level)
            frame, total = groups.forecasts, None
            skipped = [f"{s.group} ({s.days} days)" for s in groups.skipped]
    except fc.NotEnoughHistory as exc:
        raise UsageError(f"{str(exc).rstrip('.')}: widen --since or wait for more days") from None
    if fmt is not OutputFormat.table:
        emit(frame, fmt.value, out)
        return
    if total is not None:
        out.print(
            f"next {days} days: {money(total.forecast_usd)} "
            f"({money(total.lower_usd)} .. {money(total.upper_usd)} at {level:.0%})",
            soft_wrap=True,
        )
        out.print(sparkline(frame["forecast_usd"].to_list()))
    shown = frame.with_columns(
        pl.col(c).map_elements(money, return_dtype=pl.String)
        for c in ("forecast_usd", "lower_usd", "upper_usd")
    )
    emit(shown, "table", out)
    if skipped:
        out.print(f"too little history, not forecast: {', '.join(skipped)}", soft_wrap=True)
    out.print(f"prices: {version}", style="dim", soft_wrap=True)
