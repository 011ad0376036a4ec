"""``pyflare stats``: usage analytics per group and period, with a CI gate.

Thin: options become a :class:`query.stats.StatsRequest`, :func:`query.stats.load_stats`
computes the figures, :mod:`render.stats` prints them, :mod:`analysis.stats.gate` decides
the exit code.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Annotated

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

DIMENSIONS = (
    *("model", "provider", "service", "operation", "user", "session"),
    *("agent", "tool", "environment", "version"),
)
"""The keys of ``analysis.stats.dimensions.DIMENSIONS``, here so that help needs no Polars."""
UNITS = ("llm", "span", "trace", "call")
EVERY = ("hour", "day", "week", "weekday-hour")
VALUES = ("requests", "errors", "error_rate", "p50", "p95", "p99", "cost", "tokens")
SORTS = (
    *("requests", "errors", "error_rate", "p50", "p90", "p95", "p99", "max"),
    *("input_tokens", "output_tokens", "cost", "users", "sessions"),
)

HELP = """Usage analytics per group: requests, errors, latency percentiles, tokens and cost.

Per group: requests, errors, error rate, latency p50/p90/p95/p99/max, tokens in and out,
cost, unique users and sessions, each with its change against the previous window of the
same length; `--every` adds periods or a weekday-by-hour heatmap.

A request is an LLM call (`--unit llm`) when grouping by model or provider, a tool or
agent call (`--unit call`) when grouping by tool or agent, else a trace; the output says
which. Percentiles are exact (linear interpolation between ranks, as NumPy and DuckDB).

`--fail-on 'p95>2s' --fail-on 'error_rate>2%'` makes it a gate: exit 1 naming each group
that breaches a condition, 2 when the window holds nothing. With `--every`, each period
(or weekday-hour) of each group is checked, and a breach names the group and the bucket.

Example:

    pyflare stats --by model --since 7d --fail-on 'p95>10s'
"""


def register(app: typer.Typer) -> None:
    app.command("stats", help=HELP)(stats)


def stats(
    by: Annotated[
        list[str] | None,
        typer.Option("--by", "-b", help=f"Group by: {', '.join(DIMENSIONS)} or attr.<key>."),
    ] = None,
    every: Annotated[
        str | None,
        typer.Option("--every", help="Also per period: hour, day, week, or weekday-hour."),
    ] = None,
    unit: Annotated[
        str | None, typer.Option("--unit", help="What a request is: llm, span, trace or call.")
    ] = None,
    value: Annotated[
        str,
        typer.Option("--value", help=f"The heatmap's and sparklines' figure: {', '.join(VALUES)}."),
    ] = "requests",
    fail_on: Annotated[
        list[str] | None,
        typer.Option("--fail-on", help="A gate per group, e.g. 'p95>2s', 'error_rate>2%'."),
    ] = None,
    sort: Annotated[
        str, typer.Option("--sort", help=f"Largest first by: {', '.join(SORTS)}.")
    ] = "requests",
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=0, help="At most this many groups (0: all).")
    ] = 50,
    tz: Annotated[
        str, typer.Option("--tz", help="Time zone of --every weekday-hour, e.g. Europe/Paris.")
    ] = "UTC",
    since: WindowStartOption = "7d",
    until: UntilOption = None,
    where: WhereOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    from pyflare_cli.analysis.stats.dimensions import check_dimension, default_unit
    from pyflare_cli.analysis.stats.gate import check, parse_condition
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query.prices import price_rules
    from pyflare_cli.query.stats import StatsRequest, load_stats
    from pyflare_cli.render.output import console
    from pyflare_cli.render.stats import breach_line, emit_stats

    groups = by or []
    for name in groups:
        if not check_dimension(name):
            raise UsageError(f"--by {name!r}: use {', '.join(DIMENSIONS)} or attr.<key>")
    if len(set(groups)) != len(groups):
        raise UsageError("--by: a dimension is given twice")
    if every is not None and every not in EVERY:
        raise UsageError(f"--every {every!r}: use {', '.join(EVERY)}")
    if unit is not None and unit not in UNITS:
        raise UsageError(f"--unit {unit!r}: use {', '.join(UNITS)}")
    if unit == "call" and not {"tool", "agent"} & set(groups):
        raise UsageError("--unit call counts tool or agent calls: add --by tool or --by agent")
    if value not in VALUES:
        raise UsageError(f"--value {value!r}: use {', '.join(VALUES)}")
    if sort not in SORTS:
        raise UsageError(f"--sort {sort!r}: use {', '.join(SORTS)}")
    _check_zone(tz)
    conditions = [parse_condition(text) for text in fail_on or []]
    rules, _ = price_rules(load_config(config))
    request = StatsRequest(
        by=tuple(groups),
        unit=unit or default_unit(groups),
        since=since,
        until=until,
        where=where,
        every=every,
        tz=tz,
        series=fmt is OutputFormat.table and every is None,
    )
    at = now()
    result = load_stats(read_store(store, remote=True), request, at, rules)
    if sort != "requests":
        column = "cost_usd" if sort == "cost" else sort
        result = replace(result, table=result.table.sort(column, descending=True, nulls_last=True))
    periods = None if result.periods is None else result.periods.to_dicts()
    breaches = check(result.table.to_dicts(), groups, conditions, periods, every)
    out = console()
    emit_stats(out, result, fmt.value, value, limit, breaches)
    if conditions:
        report = console(None if fmt is OutputFormat.table else sys.stderr)
        if result.unpriced and any(c.figure.startswith("cost") for c in conditions):
            console(sys.stderr).print(
                f"warning: {result.unpriced} LLM call(s) have no price: the cost gate "
                "undercounts (pyflare cost prices --missing)",
                markup=False,
                soft_wrap=True,
            )
        for breach in breaches:
            report.print(breach_line(breach), markup=False, highlight=False, soft_wrap=True)
        if not breaches:
            buckets = "" if periods is None else f" in each of {len(periods)} {every} bucket(s)"
            report.print(
                f"ok: {len(conditions)} condition(s) hold for {result.table.height} group(s)"
                f"{buckets}",
                markup=False,
                soft_wrap=True,
            )
        if breaches:
            raise typer.Exit(GateFailed.exit_code)


def _check_zone(tz: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--tz {tz!r}: not a time zone name, e.g. UTC or Europe/Paris") from None
