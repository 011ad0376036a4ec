"""Write a result frame as a Rich table, JSON, CSV or Markdown, the same way everywhere.

JSON is the stable machine format: a list of objects, timestamps as ISO-8601 UTC strings,
durations in nanoseconds and as milliseconds where the frame carries them.
"""

from __future__ import annotations

import json
import math
import os
import sys
from datetime import date, datetime
from typing import IO, Any

import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pyflare_cli.render.units import format_cell

PIPE_WIDTH = 200
"""Width of tables written to a pipe or file, so they do not wrap at 80 columns."""


def console(file: IO[str] | None = None) -> Console:
    """A console that writes plain text (and wide tables) when the output is not a terminal.

    Markup is off: a string printed here is data (a span name, a prompt holding ``[/INST]``,
    a query), never Rich markup; styling goes through :class:`rich.text.Text`.
    """
    target = file or sys.stdout
    probe = Console(file=target)
    width = None if probe.is_terminal or os.environ.get("COLUMNS") else PIPE_WIDTH
    return Console(file=target, highlight=False, soft_wrap=False, width=width, markup=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN and infinities are not JSON
    return value


def to_json(frame: pl.DataFrame) -> str:
    return json.dumps([_jsonable(row) for row in frame.to_dicts()], indent=2, ensure_ascii=False)


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """Nested columns as JSON text, for CSV and Markdown."""
    out = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.List | pl.Struct | pl.Map | pl.Array):
            out.append(
                pl.Series(
                    name,
                    [json.dumps(_jsonable(v)) for v in frame.get_column(name).to_list()],
                    pl.String,
                )
            )
        else:
            out.append(frame.get_column(name))
    return pl.DataFrame(out)


def to_csv(frame: pl.DataFrame) -> str:
    return _plain(frame).write_csv()


def to_markdown(frame: pl.DataFrame) -> str:
    plain = _plain(frame)
    header = "| " + " | ".join(plain.columns) + " |"
    rule = "|" + "|".join("---" for _ in plain.columns) + "|"
    rows = [
        "| " + " | ".join(format_cell(v).replace("|", "\\|") for v in row) + " |"
        for row in plain.iter_rows()
    ]
    return "\n".join([header, rule, *rows]) + "\n"


def rich_table(frame: pl.DataFrame, title: str | None = None) -> Table:
    table = Table(title=title, header_style="bold", show_lines=False)
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left", overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*(Text(format_cell(v)) for v in row))
    return table


def emit(frame: pl.DataFrame, fmt: str, out: Console, title: str | None = None) -> None:
    """Write ``frame`` in ``fmt`` (table, json, csv, markdown) to ``out``."""
    if fmt == "json":
        # Written as is: Rich lays out every line of a long text (25 s and 730 MB for the
        # 28 MB of 100,000 evaluation results), and JSON has no markup to render.
        out.file.write(to_json(frame) + "\n")
    elif fmt == "csv":
        out.file.write(to_csv(frame))
    elif fmt == "markdown":
        out.file.write(to_markdown(frame))
    else:
        out.print(rich_table(frame, title))
