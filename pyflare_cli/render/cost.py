"""How ``pyflare cost`` shows its results: the spend report, model prices, budgets, forecasts
and the gate's verdict, as a terminal report or as JSON, CSV or Markdown.

The command gathers the frames; everything here only formats them, so that the words and
columns a user reads are in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl
from rich.console import Console

from pyflare_cli.render.output import _jsonable, emit, to_json
from pyflare_cli.render.sparkline import sparkline
from pyflare_cli.render.units import count, money

if TYPE_CHECKING:
    from pyflare_cli.analysis.cost.forecast import Backtest, Total
    from pyflare_cli.analysis.cost.gate import GateFacts
    from pyflare_cli.analysis.cost.pricing import Resolution
    from pyflare_cli.render.verdict import Verdict

RATE_KINDS = ("input", "output", "cache_read", "cache_write", "reasoning")


@dataclass(frozen=True)
class SpendReport:
    """``pyflare cost``: the window's cost table and totals, the one before it, the trend."""

    start: datetime
    end: datetime
    rows: pl.DataFrame
    unpriced: pl.DataFrame
    total_micros: int
    previous_micros: int
    series: pl.DataFrame
    groups: list[str]
    every: str | None
    price_data: str


def emit_spend(out: Console, report: SpendReport, fmt: str) -> None:
    """The spend report: JSON with totals, a bare table in CSV/Markdown, or the full report."""
    total, before = report.total_micros, report.previous_micros
    if fmt == "json":
        payload = {
            "since": report.start.isoformat(),
            "until": report.end.isoformat(),
            "total_usd": total / 1e6,
            "total_micros": total,
            "previous_usd": before / 1e6,
            "change": (total - before) / before if before else None,
            "price_data": report.price_data,
            "rows": json.loads(to_json(report.rows.drop("cost_micros"))),
            "unpriced": json.loads(to_json(report.unpriced)),
        }
        out.print(json.dumps(payload, indent=2), markup=False, soft_wrap=True)
        return
    if fmt != "table":
        emit(report.rows.drop("cost_micros"), fmt, out)
        return
    change = f", {(total - before) / before:+.1%} vs the previous period" if before else ""
    out.print(
        f"cost {report.start:%Y-%m-%d %H:%M} .. {report.end:%Y-%m-%d %H:%M} UTC: "
        f"{money(total / 1e6)}{change}",
        soft_wrap=True,
    )
    if report.series.height > 1:
        out.print(sparkline(report.series["cost_micros"].to_list()))
    emit(_spend_columns(report.rows, report.groups, report.every), "table", out)
    _print_unpriced(out, report.unpriced)
    out.print(f"prices: {report.price_data}", soft_wrap=True, style="dim")


def _as_text(name: str, fn: Callable[[Any], str]) -> pl.Expr:
    return pl.col(name).map_elements(fn, return_dtype=pl.String).alias(name)


def _spend_columns(result: pl.DataFrame, groups: list[str], every: str | None) -> pl.DataFrame:
    columns: list[pl.Expr] = []
    if every is not None:
        columns.append(pl.col("period").dt.strftime("%Y-%m-%d %H:%M"))
    columns += [pl.col(name) for name in groups]
    columns += [
        _as_text("cost_usd", money),
        pl.col("requests"),
        pl.col("failed"),
        _as_text("input_tokens", count),
        _as_text("output_tokens", count),
        _as_text("cached_tokens", count),
        _as_text("reasoning_tokens", count),
        _as_text("usd_per_request", money),
        _as_text("usd_per_1k_tokens", money),
        _as_text("share", lambda v: f"{v:.1%}"),
    ]
    if "change" in result.columns:
        columns.append(_as_text("change", lambda v: f"{v:+.1%}"))
    if result.get_column("unpriced").sum():
        columns.append(pl.col("unpriced"))
    return result.select(columns)


def _print_unpriced(out: Console, missing: pl.DataFrame) -> None:
    if missing.height == 0:
        return
    names = ", ".join(
        f"{m or '(no model)'} ({n})" for m, n in missing.select("model", "spans").rows()[:5]
    )
    spans, tokens = int(missing["spans"].sum()), int(missing["tokens"].sum())
    out.print(
        f"unpriced: {spans} span(s), {count(tokens)} tokens: {names}; "
        "see pyflare cost prices --missing",
        soft_wrap=True,
    )


def emit_prices(
    out: Console, found: Sequence[Resolution], missing: bool, fmt: str, price_data: str
) -> None:
    """``cost prices``: each model's rates per million tokens, one row per band (the dates,
    daily window and input tier it applies to) and the rule that gave them; with
    ``missing``, only the unpriced ones and a ``prices:`` snippet to fill in."""
    rows = []
    for res in found:
        if missing and res.priced:
            continue
        for band in res.bands or (None,):
            rates = band.rates.per_million_usd() if band and band.rates else {}
            rows.append(
                {
                    "provider": res.provider,
                    "model": res.model,
                    "applies": band.conditions() if band else "",
                    **{f"{k}_per_m": _float(rates.get(k)) for k in RATE_KINDS},
                    "per_request": _float(rates.get("request")),
                    "resolved_by": band.source if band else res.reason,
                }
            )
    frame = pl.DataFrame(rows, infer_schema_length=None)
    if frame.height == 0:
        out.print("every model has a price" if missing else "no models in the store")
        return
    if fmt != "table":
        emit(frame, fmt, out)
        return
    emit(frame, "table", out)
    if missing:
        out.print("\nAdd a price to pyflare.yaml (USD per million tokens), e.g.:", soft_wrap=True)
        snippet = ["prices:"]
        for row in rows:
            snippet += [f"  - model: {row['model']}", "    input: 0.0", "    output: 0.0"]
        out.print("\n".join(snippet), markup=False)
    out.print(f"prices: {price_data}", style="dim", soft_wrap=True)


def _float(value: object) -> float | None:
    return None if value is None else float(str(value))


def emit_budgets(out: Console, frame: pl.DataFrame, fmt: str) -> None:
    """``cost budget``: spent, limit, share, projection and status of each budget."""
    if fmt != "table":
        emit(frame.drop("limit_micros", "spent_micros", "projected_micros"), fmt, out)
        return
    shown = frame.select(
        "name",
        "scope",
        "period",
        _as_text("spent_usd", money).alias("spent"),
        _as_text("limit_usd", money).alias("limit"),
        _as_text("share", lambda v: f"{v:.0%}"),
        _as_text("projected_usd", money).alias("projected"),
        "unpriced_spans",
        "status",
    )
    emit(shown, "table", out)


def cost_verdict(
    facts: GateFacts,
    window: tuple[datetime, datetime],
    max_total: float | None,
    max_per_request: float | None,
    budgets: pl.DataFrame | None,
    budget_statuses: Sequence[str],
    fail_on_unpriced: bool,
) -> Verdict:
    """``cost check``: one check per limit, with the groups or calls that broke it."""
    from pyflare_cli.analysis.cost.budgets import breaches as budget_lines
    from pyflare_cli.render.verdict import Check, Verdict

    total, largest = facts.total_micros / 1e6, facts.largest_micros / 1e6
    checks = []
    if max_total is not None:
        over = total > max_total
        checks.append(
            Check(
                "max_total",
                not over,
                max_total,
                total,
                "usd",
                f"over by {money(total - max_total)}" if over else "",
                facts.top_models.to_dicts() if over else (),
            )
        )
    if max_per_request is not None:
        over = largest > max_per_request
        checks.append(
            Check(
                "max_per_request",
                not over,
                max_per_request,
                largest,
                "usd",
                f"{facts.over_limit.height} call(s) over the limit" if over else "",
                facts.over_limit.to_dicts(),
            )
        )
    frame = budgets if budgets is not None else pl.DataFrame()
    for i, row in enumerate(frame.iter_rows(named=True)):
        (line,) = budget_lines(frame.slice(i, 1), (row["status"],))
        checks.append(
            Check(
                f"budget {row['name']}",
                row["status"] not in budget_statuses,
                row["limit_micros"] / 1e6,
                row["spent_micros"] / 1e6,
                "usd",
                f"{row['status']}: {line}",
            )
        )
    warnings = []
    if facts.spans == 0:
        warnings.append("no spans in the window: nothing was checked (--allow-empty)")
    if facts.unpriced:
        estimate = (
            f"; they would add about {money(facts.estimate_micros / 1e6)} "
            "(estimate at this window's average price per token)"
            if facts.estimate_micros is not None
            else ""
        )
        most = (
            " - most calls are unpriced, the total is not trustworthy"
            if (facts.unpriced * 2 > facts.requests)
            else ""
        )
        warnings.append(
            f"{facts.unpriced} span(s) report tokens but have no price{estimate}{most}; "
            "see pyflare cost prices --missing"
        )
        if fail_on_unpriced:
            checks.append(
                Check("unpriced", False, 0, facts.unpriced, "count", "--fail-on-unpriced")
            )
    if facts.cache_excess:
        warnings.append(
            f"{facts.cache_excess} span(s) report more cache read + write tokens than input "
            f"tokens (e.g. span {facts.cache_example}); their plain input is taken as 0"
        )
    return Verdict(
        "cost check",
        checks,
        window[0].isoformat(),
        window[1].isoformat(),
        warnings,
        {"spans": facts.spans, "requests": facts.requests, "total_usd": total},
    )


def emit_gate(out: Console, verdict: Verdict, fmt: str) -> None:
    """``cost check``: a FAIL line per breach, or the totals that passed; or JSON/Markdown."""
    from pyflare_cli.render.verdict import emit_verdict

    if emit_verdict(out, verdict, fmt):
        return
    for check in verdict.checks:
        if not check.passed:
            limit = money(check.limit) if check.unit == "usd" else str(check.limit)
            value = money(check.value) if check.unit == "usd" else str(check.value)
            out.print(f"FAIL {check.name}: {value} (limit {limit}) {check.detail}", soft_wrap=True)
            for row in check.offending[:5]:
                cells = (f"{k}={money(v) if k.endswith('usd') else v}" for k, v in row.items())
                out.print("  " + ", ".join(cells), markup=False)
    for line in verdict.warnings:
        out.print(f"warning: {line}", soft_wrap=True, markup=False)
    if verdict.passed:
        total = verdict.extra.get("total_usd", 0.0)
        out.print(
            f"ok: total {money(total)} over {verdict.extra.get('requests', 0)} request(s)",
            soft_wrap=True,
        )


def emit_backtest(out: Console, result: Backtest, level: float) -> None:
    """``cost forecast --backtest``: how often the held-out days fell inside the interval."""
    mape = "n/a" if result.mape is None else f"{result.mape:.1%}"
    out.print(
        f"backtest: fitted on {result.days_fit} days, tested on {result.days_tested}: "
        f"{result.coverage:.0%} of days inside the {level:.0%} interval, MAPE {mape}",
        soft_wrap=True,
    )


def emit_forecast(
    out: Console,
    frame: pl.DataFrame,
    total: Total | None,
    skipped: Sequence[str],
    days: int,
    level: float,
    fmt: str,
    price_data: str,
) -> None:
    """``cost forecast``: the total over the horizon and its trend, then the daily rows.

    JSON is one object (``horizon_days``, ``level``, ``total`` with its interval or null
    with ``--by``, ``daily``, ``skipped``, ``prices``); Markdown a total line and a table
    with rounded dollars; CSV the daily rows.
    """
    if fmt == "json":
        payload = {
            "horizon_days": days,
            "level": level,
            "total": None
            if total is None
            else {
                "forecast_usd": total.forecast_usd,
                "lower_usd": total.lower_usd,
                "upper_usd": total.upper_usd,
            },
            "daily": [_jsonable(row) for row in frame.to_dicts()],
            "skipped": list(skipped),
            "prices": price_data,
        }
        text = json.dumps(_jsonable(payload), indent=2)
        out.print(text, markup=False, soft_wrap=True, highlight=False)
        return
    if fmt == "markdown":
        lines = []
        if total is not None:
            lines += [
                f"**Forecast, next {days} days: {money(total.forecast_usd)}** "
                f"({money(total.lower_usd)} .. {money(total.upper_usd)} at {level:.0%})",
                "",
            ]
        rounded = frame.with_columns(
            _as_text(c, money) for c in ("forecast_usd", "lower_usd", "upper_usd")
        )
        out.print("\n".join(lines), markup=False, soft_wrap=True, highlight=False)
        emit(rounded, "markdown", out)
        if skipped:
            out.print(f"\ntoo little history, not forecast: {', '.join(skipped)}", markup=False)
        return
    if fmt != "table":
        emit(frame, fmt, out)
        return
    if total is not None:
        out.print(
            f"next {days} days: {money(total.forecast_usd)} "
            f"({money(total.lower_usd)} .. {money(total.upper_usd)} at {level:.0%})",
            soft_wrap=True,
        )
        out.print(sparkline(frame["forecast_usd"].to_list()))
    shown = frame.with_columns(
        _as_text(c, money) for c in ("forecast_usd", "lower_usd", "upper_usd")
    )
    emit(shown, "table", out)
    if skipped:
        out.print(f"too little history, not forecast: {', '.join(skipped)}", soft_wrap=True)
    out.print(f"prices: {price_data}", style="dim", soft_wrap=True)
