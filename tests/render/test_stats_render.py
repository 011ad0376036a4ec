"""The stats table on a terminal: a sparkline per group, changes beside the figures, and
group names printed as data (never markup)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from rich.console import Console

from pyflare_cli.query.stats import StatsRequest, load_stats
from pyflare_cli.render.sparkline import BARS
from pyflare_cli.render.stats import emit_stats

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=250, color_system=None), buffer


def test_sparklines_and_markup_free_names(
    tmp_path: Path,
    make_spans: Callable[..., pl.DataFrame],
    add_source: Callable[[Path, pl.DataFrame, str], list[Path]],
) -> None:
    rows = []
    for day in range(6):
        for i in range(day + 1):  # more calls every day
            rows.append(
                {
                    "span_id": f"d{day}-{i}",
                    "start_time": NOW - timedelta(days=6 - day, hours=1),
                    "model": "[bold]m[/bold]",
                    "ai_kind": "llm",
                    "ms": 100 * (i + 1),
                }
            )
    root = tmp_path / "store"
    add_source(root, make_spans(*rows), "s")
    result = load_stats(root, StatsRequest(("model",), "llm", "7d", series=True), NOW)
    out, buffer = _terminal()
    emit_stats(out, result, "table", "requests", 50)
    text = buffer.getvalue()
    assert "[bold]m[/bold]" in text
    assert "requests per day" in text
    line = next(line for line in text.splitlines() if "[bold]m[/bold]" in line)
    bars = [c for c in line if c in BARS]
    assert bars == sorted(bars) and bars[-1] == BARS[-1] and len(bars) == 6
