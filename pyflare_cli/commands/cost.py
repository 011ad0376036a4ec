"""``pyflare cost``: spend by any dimension, prices and why, the costliest traces, the CI gate.

Thin: options become a window and price rules (:mod:`query`), the figures come from
:mod:`analysis.cost`, and :mod:`render.cost` prints them; the config is read once per run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.engine_options import (
    EngineOption,
    EngineStoreOption,
    SparkMasterOption,
    refuse_engine,
)
from pyflare_cli.commands.options import (
    ConfigOption,
    FormatOption,
    HtmlOption,
    OutputFormat,
    PricesOption,
    StoreOption,
    UntilOption,
    WhereOption,
    WindowStartOption,
)
from pyflare_cli.errors import UsageError
from pyflare_cli.store.layout import read_store

if TYPE_CHECKING:
    from pyflare_cli.analysis.cost.budgets import Budget
    from pyflare_cli.analysis.cost.price_rules import PriceRule
    from pyflare_cli.query.windows import Window

DIMENSIONS = ("model", "provider", "service", "user", "session", "agent", "tool", "environment")
"""The keys of ``analysis.cost.report.DIMENSIONS``, named here so that help needs no Polars."""

cost_app = typer.Typer(
    help="LLM spend: by model, user, service or any attribute; prices; top traces; a CI gate."
    "\n\nExample:\n\n    pyflare cost --by model --since 7d",
    invoke_without_command=True,
    rich_markup_mode="markdown",
)


def register(app: typer.Typer) -> None:
    from pyflare_cli.commands.cost_gate import budget, check

    cost_app.command("check")(check)
    cost_app.command("budget")(budget)
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
    since: WindowStartOption = "7d",
    until: UntilOption = None,
    where: WhereOption = None,
    store: EngineStoreOption = None,
    config: ConfigOption = None,
    prices: PricesOption = None,
    fmt: FormatOption = OutputFormat.table,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    html: HtmlOption = None,
) -> None:
    """Cost, requests and tokens by any dimension, with the change against the previous period.

    `--engine duckdb|spark|clickhouse` runs the grouping where the spans are (docs/scale.md).

    Example:

        pyflare cost --by model --by user --since 7d
    """
    if ctx.invoked_subcommand is not None:
        if ctx.invoked_subcommand not in ("top", "forecast"):
            refuse_engine(f"cost {ctx.invoked_subcommand}")
        return
    import polars as pl

    from pyflare_cli.analysis.cost.report import (
        EVERY,
        series_of,
        table_of,
        total_of,
        unpriced_of,
        with_change,
    )
    from pyflare_cli.config.file import load_config
    from pyflare_cli.engine.cost import spend_parts as parts_on
    from pyflare_cli.engine.select import engine_session
    from pyflare_cli.query.prices import price_rules as rules_of
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.render.cost import SpendReport, emit_spend
    from pyflare_cli.render.output import console

    groups = by or []
    for name in groups:
        if name not in DIMENSIONS and not (name.startswith("attr.") and len(name) > 5):
            raise UsageError(f"--by {name!r}: use {', '.join(DIMENSIONS)} or attr.<key>")
    if every is not None and every not in EVERY:
        raise UsageError(f"--every {every!r}: use hour, day or week")
    if html is not None:
        from pyflare_cli.render.report.write import check_target

        check_target(html, "html", "--html")
    at = now()
    cfg = load_config(config)
    rules, version = rules_of(cfg, prices)
    window = current_window(since, until, at)
    step = "hour" if window.length <= timedelta(days=2) else "day"
    # The window and the previous one are each read and priced once, into the few rows
    # of integer sums every figure of the report is re-aggregated from (on the engine).
    with engine_session(engine, cfg, store, spark_master) as eng:
        parts, parts_before = parts_on(
            eng, [(window, every), (window.previous(), None)], groups, step, where, at, rules
        )
    table = table_of(parts.lazy(), groups, every)
    if every is None:
        table = with_change(table, table_of(parts_before.lazy(), groups), groups)
    rows, missing, total, total_before, series = pl.collect_all(
        [
            table,
            unpriced_of(parts.lazy()),
            total_of(parts.lazy()),
            total_of(parts_before.lazy()),
            series_of(parts.lazy()),
        ]
    )
    report = SpendReport(
        window.start,
        window.end,
        rows,
        missing,
        total.item() or 0,
        total_before.item() or 0,
        series,
        groups,
        every,
        version,
    )
    emit_spend(console(), report, fmt.value)
    if html is not None:
        _write_html(html, store, window, where, at, rules, cfg.budgets)


def _write_html(
    html: Path,
    store: str | None,
    window: Window,
    where: str | None,
    at: datetime,
    rules: tuple[PriceRule, ...],
    budgets: tuple[Budget, ...],
) -> None:
    """``--html``: the cost section of ``pyflare report`` (spend by model, user, agent and
    tool, top traces, budgets, forecast) for the same window, as a page of its own."""
    from pyflare_cli.render.report.write import write_section_html
    from pyflare_cli.report.build import build_section
    from pyflare_cli.report.context import ReportContext

    ctx = ReportContext(read_store(store, remote=True), window, where, at, rules, budgets)
    write_section_html(ctx, build_section(ctx, "cost"), html)


@cost_app.command("prices")
def prices_cmd(
    model: Annotated[str | None, typer.Argument(help="A model name (as spans carry it).")] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="Its provider.")] = None,
    missing: Annotated[
        bool, typer.Option("--missing", help="List models in the store that have no price.")
    ] = False,
    since: WindowStartOption = "30d",
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
    from pyflare_cli.analysis.cost.pricing import model_pairs, resolve
    from pyflare_cli.query.prices import resolutions
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.render.cost import emit_prices
    from pyflare_cli.render.output import console
    from pyflare_cli.store.scan import scan_spans

    rules, version = price_rules(config, prices)
    if model is not None:
        found = [resolve(provider, model, rules)]
    else:
        root = read_store(store, remote=True)
        start = current_window(since, None, now()).start
        pairs = model_pairs(scan_spans(root, start)).sort("model").collect().iter_rows()
        found = resolutions([(p, m) for p, m in pairs], root, rules)
    emit_prices(console(), found, missing, fmt.value, version)


@cost_app.command("top")
def top(
    spans_mode: Annotated[
        bool, typer.Option("--spans", help="The costliest calls instead of traces.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many.")] = 10,
    since: WindowStartOption = "7d",
    where: WhereOption = None,
    store: EngineStoreOption = None,
    config: ConfigOption = None,
    prices: PricesOption = None,
    fmt: FormatOption = OutputFormat.table,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """The most expensive traces (default) or single calls, with their ids.

    `--engine duckdb|spark|clickhouse` ranks them where the spans are (docs/scale.md).

    Example:

        pyflare cost top -n 5 --since 24h
    """
    from pyflare_cli.config.file import load_config
    from pyflare_cli.engine.cost import top_by_cost
    from pyflare_cli.engine.select import engine_session
    from pyflare_cli.query.prices import price_rules as rules_of
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.render.output import console, emit

    cfg = load_config(config)
    rules, _ = rules_of(cfg, prices)
    at = now()
    window = current_window(since, None, at)
    with engine_session(engine, cfg, store, spark_master) as eng:
        frame = top_by_cost(eng, window, spans_mode, limit, where, at, rules)
    emit(frame.drop("cost_micros"), fmt.value, console())


@cost_app.command("forecast")
def forecast(
    days: Annotated[
        int, typer.Option("--days", "--horizon", min=1, max=366, help="Days ahead.")
    ] = 30,
    by: Annotated[
        str | None, typer.Option("--by", help=f"One forecast per {', '.join(DIMENSIONS)}.")
    ] = None,
    since: WindowStartOption = "28d",
    level: Annotated[
        float, typer.Option("--level", min=0.5, max=0.99, help="Prediction interval level.")
    ] = 0.8,
    backtest_days: Annotated[
        int | None,
        typer.Option("--backtest", min=1, help="Fit on all but the last N days and score them."),
    ] = None,
    where: WhereOption = None,
    store: EngineStoreOption = None,
    config: ConfigOption = None,
    prices: PricesOption = None,
    fmt: FormatOption = OutputFormat.table,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """Daily spend forecast with a prediction interval, from whole UTC days of history.

    Needs at least 7 days of history (exit 2 with how many there are otherwise).
    `--engine duckdb|spark|clickhouse` sums the days where the spans are (docs/scale.md).

    Example:

        pyflare cost forecast --days 30 --since 28d
    """
    from pyflare_cli.analysis.cost import forecast as fc
    from pyflare_cli.config.file import load_config
    from pyflare_cli.engine.cost import daily_costs
    from pyflare_cli.engine.select import engine_session
    from pyflare_cli.query.prices import price_rules as rules_of
    from pyflare_cli.query.windows import Window, current_window
    from pyflare_cli.render.cost import emit_backtest, emit_forecast
    from pyflare_cli.render.output import console

    if by is not None and by not in DIMENSIONS:
        raise UsageError(f"--by {by!r}: use one of {', '.join(DIMENSIONS)}")
    cfg = load_config(config)
    rules, version = rules_of(cfg, prices)
    at = now()
    today = at.replace(hour=0, minute=0, second=0, microsecond=0)
    start = current_window(since, None, at).start
    first_day = (start + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    with engine_session(engine, cfg, store, spark_master) as eng:
        costs = daily_costs(eng, Window(first_day, today), by, where, at, rules)
        series = fc.daily_series(costs, by).collect()
    out = console()
    try:
        if backtest_days is not None:
            if by is not None:
                raise UsageError("--backtest scores the total; leave out --by")
            emit_backtest(out, fc.backtest(series, backtest_days, level=level), level)
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
    emit_forecast(out, frame, total, skipped, days, level, fmt.value, version)
