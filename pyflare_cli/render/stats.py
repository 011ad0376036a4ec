"""How ``pyflare stats`` shows its figures: a table with the change of each figure and a
sparkline per group on a terminal, a weekday-by-hour heatmap, JSON, CSV or Markdown, and
the gate's verdict.

Group names and other data are plain text (Rich ``Text``), never markup.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pyflare_cli.analysis.stats.figures import PERCENTILES, WEEKDAYS
from pyflare_cli.analysis.stats.gate import Breach, group_label
from pyflare_cli.query.stats import UNIT_NAMES, StatsResult
from pyflare_cli.render.output import emit, to_json
from pyflare_cli.render.sparkline import sparkline
from pyflare_cli.render.units import count, duration, money

LATENCY = (*PERCENTILES, "max")
VALUES = ("requests", "errors", "error_rate", "p50", "p95", "p99", "cost", "tokens")
"""What ``--value`` may chart (the heatmap and the sparklines)."""
HEAT = ("grey23", "dark_green", "green4", "green3", "yellow3", "orange3", "red3")


def machine_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Latencies in milliseconds (``p95_ms``) for JSON, CSV and Markdown."""
    columns = []
    for name in frame.columns:
        base = name.removeprefix("previous_")
        if base in LATENCY:
            columns.append((pl.col(name) / 1e6).alias(f"{name}_ms"))
        else:
            columns.append(pl.col(name))
    return frame.select(columns)


def value_column(frame: pl.DataFrame, value: str) -> pl.Series:
    """The figure ``--value`` names, as a series (``cost`` in dollars, ``tokens`` in + out)."""
    if value == "cost":
        return frame.get_column("cost_usd")
    if value == "tokens":
        return frame.get_column("input_tokens").fill_null(0) + frame.get_column(
            "output_tokens"
        ).fill_null(0)
    return frame.get_column(value)


def format_value(value: str, number: float | None) -> str:
    if number is None:
        return ""
    if value in LATENCY:
        return duration(number)
    if value == "error_rate":
        return f"{number:.1%}"
    if value == "cost":
        return money(number)
    return count(number)


def _change(value: float | None, points: bool = False) -> Text:
    if value is None or value != value:
        return Text("")
    text = f"{value * 100:+.1f}pt" if points else f"{value:+.0%}"
    style = "red" if value > 0 else "green" if value < 0 else "dim"
    return Text(" " + text, style=style)


def _cell(main: str, change: float | None, points: bool = False) -> Text:
    return Text(main) + _change(change, points)


def _trends(result: StatsResult, value: str) -> dict[tuple[Any, ...], str]:
    series = result.series
    if series is None or series.is_empty():
        return {}
    by = list(result.request.by)
    periods = sorted(series.get_column("period").unique().to_list())
    index = {p: i for i, p in enumerate(periods)}
    lines: dict[tuple[Any, ...], list[float | None]] = {}
    values = value_column(series, value).to_list()
    for row, number in zip(series.select(*by, "period").iter_rows(), values, strict=True):
        key = tuple(row[:-1])
        lines.setdefault(key, [None] * len(periods))[index[row[-1]]] = number
    return {key: sparkline(line) for key, line in lines.items()}


def stats_table(result: StatsResult, value: str, trends: bool, limit: int) -> Table:
    by = list(result.request.by)
    table = Table(header_style="bold", show_lines=False)
    for name in by:
        table.add_column(name, overflow="fold")
    heads = ("requests", "errors", "error rate", "p50", "p90", "p95", "p99", "max")
    for head in (*heads, "tokens in", "tokens out", "cost", "users", "sessions"):
        table.add_column(head, justify="right")
    if trends:
        table.add_column(f"{value} per {result.step}")
    lines = _trends(result, value) if trends else {}
    frame = result.table if limit <= 0 else result.table.head(limit)
    for row in frame.iter_rows(named=True):
        cells: list[Text] = [Text("(none)" if row[n] is None else str(row[n])) for n in by]
        cells += [
            _cell(count(row["requests"]), row["requests_change"]),
            Text(count(row["errors"])),
            _cell(f"{row['error_rate']:.1%}", row["error_rate_change"], points=True),
            *(Text(duration(row[name])) for name in ("p50", "p90")),
            _cell(duration(row["p95"]), row["p95_change"]),
            *(Text(duration(row[name])) for name in ("p99", "max")),
            Text(count(row["input_tokens"])),
            Text(count(row["output_tokens"])),
            _cell(money(row["cost_usd"]), row["cost_usd_change"]),
            Text(count(row["users"])),
            Text(count(row["sessions"])),
        ]
        if trends:
            cells.append(Text(lines.get(tuple(row[n] for n in by), "")))
        table.add_row(*cells)
    return table


def heatmap(frame: pl.DataFrame, value: str, colour: bool) -> Table:
    """7 x 24: weekdays down, hours across, the ``value`` of each cell (blank: no requests)."""
    grid: dict[tuple[int, int], float | None] = {}
    for (day, hour), number in zip(
        frame.select("weekday", "hour").iter_rows(),
        value_column(frame, value).to_list(),
        strict=True,
    ):
        grid[(day, hour)] = number
    present = [v for v in grid.values() if v is not None]
    top = max(present) if present else 0
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False, padding=(0, 1))
    table.add_column("")
    for hour in range(24):
        table.add_column(f"{hour:02d}", justify="right")
    for day in range(1, 8):
        cells = [Text(WEEKDAYS[day - 1], style="bold")]
        for hour in range(24):
            number = grid.get((day, hour))
            text = format_value(value, number)
            style = ""
            if colour and number is not None and top > 0:
                style = "on " + HEAT[min(len(HEAT) - 1, int(number / top * (len(HEAT) - 1)))]
            cells.append(Text(text, style=style))
        table.add_row(*cells)
    return table


def headline(result: StatsResult) -> str:
    request, window = result.request, result.window
    unit = f"a request is one of the {UNIT_NAMES[request.unit]} (--unit {request.unit})"
    if request.unit == "call":
        kind = "tool" if "tool" in request.by else "agent"
        unit = f"a request is a {kind} call (--unit call), with the LLM calls under it"
    return (
        f"stats {window.label()}; {unit}; changes against the previous "
        f"{_length(window.length.total_seconds())}"
    )


def _length(seconds: float) -> str:
    if seconds % 86400 == 0:
        return f"{int(seconds // 86400)}d"
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    return f"{seconds / 3600:.1f}h"


def emit_stats(
    out: Console,
    result: StatsResult,
    fmt: str,
    value: str,
    limit: int,
    breaches: Sequence[Breach] = (),
) -> None:
    """The report in ``fmt``; a heatmap or per-period rows with ``--every``."""
    request = result.request
    by = list(request.by)
    rows = result.table if limit <= 0 else result.table.head(limit)
    if fmt == "json":
        payload: dict[str, Any] = {
            "since": result.window.start.isoformat(),
            "until": result.window.end.isoformat(),
            "unit": request.unit,
            "by": by,
            "every": request.every,
            "percentiles": "exact, linear interpolation (numpy 'linear', DuckDB quantile_cont)",
            "rows": json.loads(to_json(machine_frame(rows))),
        }
        if result.periods is not None:
            payload["periods"] = json.loads(to_json(machine_frame(result.periods)))
        if request.every == "weekday-hour":
            payload["timezone"] = request.tz
        payload["breaches"] = [_breach_json(b) for b in breaches]
        out.print(json.dumps(payload, indent=2), markup=False, highlight=False, soft_wrap=True)
        return
    if fmt != "table":
        frame = result.periods if result.periods is not None else rows
        emit(machine_frame(frame), fmt, out)
        return
    out.print(Text(headline(result), style="dim"), soft_wrap=True)
    if request.every == "weekday-hour":
        assert result.periods is not None
        _print_heatmaps(out, result, value)
    elif result.periods is not None:
        emit(_period_columns(result.periods, by), "table", out)
    else:
        out.print(stats_table(result, value, out.is_terminal and result.series is not None, limit))
        if limit > 0 and result.table.height > limit:
            out.print(Text(f"{result.table.height - limit} more group(s): --limit 0 shows all"))
    if result.unpriced:
        out.print(
            Text(
                f"warning: {result.unpriced} LLM call(s) with usage have no price; their cost "
                "is not in the figures (pyflare cost prices --missing)",
                style="yellow",
            ),
            soft_wrap=True,
        )


def _print_heatmaps(out: Console, result: StatsResult, value: str) -> None:
    assert result.periods is not None
    by = list(result.request.by)
    groups = result.table.select(by).rows() if by else [()]
    for key in groups:
        frame = result.periods
        for name, part in zip(by, key, strict=True):
            frame = frame.filter(pl.col(name).is_null() if part is None else pl.col(name) == part)
        title = group_label(dict(zip(by, key, strict=True)), by)
        out.print(
            Text(f"{value} by weekday and hour ({result.request.tz}), {title}", style="bold"),
            soft_wrap=True,
        )
        out.print(heatmap(frame, value, out.is_terminal))


def _period_columns(periods: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    shown = periods.select(
        "period",
        *by,
        "requests",
        "errors",
        pl.col("error_rate").map_elements(lambda v: f"{v:.1%}", return_dtype=pl.String),
        *(
            pl.col(name).map_elements(duration, return_dtype=pl.String)
            for name in ("p50", "p95", "p99")
        ),
        "input_tokens",
        "output_tokens",
        pl.col("cost_usd").map_elements(money, return_dtype=pl.String).alias("cost"),
        "users",
        "sessions",
    )
    return shown


def _breach_json(breach: Breach) -> dict[str, Any]:
    return {
        "group": breach.group,
        "bucket": breach.bucket,
        "condition": breach.condition.text,
        "figure": breach.condition.figure,
        "value": breach.value,
        "threshold": breach.condition.threshold,
    }


def breach_line(breach: Breach) -> str:
    """``FAIL model=gpt-4o: p95 2.41s > 2s``; ``FAIL model=gpt-4o at 2026-11-20 14:00: ...``."""
    condition = breach.condition
    figure = condition.figure
    where = breach.group if breach.bucket is None else f"{breach.group} at {breach.bucket}"
    if breach.value is None:
        why = "no previous window to compare" if figure.endswith("_change") else "no value"
        return f"FAIL {where}: {condition.text}: cannot be checked ({why})"
    shown = _shown(figure, breach.value)
    limit = _shown(figure, condition.threshold)
    return f"FAIL {where}: {figure} {shown} {condition.op} {limit} ({condition.text})"


def _shown(figure: str, number: float) -> str:
    if figure.endswith("_change"):
        return f"{number * 100:+.1f}pt" if figure == "error_rate_change" else f"{number:+.1%}"
    if figure in LATENCY:
        return duration(number)
    if figure == "error_rate":
        return f"{number:.2%}"
    if figure == "cost_usd":
        return money(number)
    return count(number)
