"""How ``pyflare sessions``, ``pyflare users`` and ``pyflare session show`` print: tables
with readable durations and money, and a session's conversation turn by turn.

Prompts and answers are data: printed as plain ``Text``, never as markup.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pyflare_cli.query.sessions import Session
from pyflare_cli.render.output import emit, to_json
from pyflare_cli.render.units import count, duration, format_cell, money

PREVIEW = 400
"""Characters of a prompt or answer shown per turn without ``--full``."""


def _table(frame: pl.DataFrame, formats: dict[str, Any]) -> Table:
    table = Table(header_style="bold")
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left")
    for row in frame.iter_rows(named=True):
        table.add_row(*(Text(formats.get(name, format_cell)(value)) for name, value in row.items()))
    return table


_FORMATS: dict[str, Any] = {
    "duration": duration,
    "cost": money,
    "error_rate": lambda v: "" if v is None else f"{v:.1%}",
    "input_tokens": count,
    "output_tokens": count,
    "before_window": lambda v: "yes" if v else "",
    "after_window": lambda v: "yes" if v else "",
}
EARLIER = (
    "before_window: the session began before the window; its start and duration run from "
    "its first span in the store, its traces, turns, tokens, cost and errors count the "
    "window only"
)
LATER = (
    "after_window: the session went on after the window; its duration runs to the last "
    "end of its traces in the store, its traces, turns, tokens, cost and errors count the "
    "window only"
)


def emit_rows(out: Console, frame: pl.DataFrame, fmt: str) -> None:
    """A sessions or users table in ``fmt`` (JSON keeps raw numbers: duration in ns)."""
    if fmt == "table":
        out.print(_table(frame, _FORMATS))
        for column, note in (("before_window", EARLIER), ("after_window", LATER)):
            if column in frame.columns and frame.get_column(column).any():
                out.print(Text(note, style="dim"), soft_wrap=True)
    else:
        emit(frame, fmt, out)


def emit_session(out: Console, session: Session, fmt: str, full: bool) -> None:
    """The session's summary, its traces in time order and its conversation."""
    if fmt == "json":
        payload = {
            "session": json.loads(to_json(session.summary))[0],
            "traces": json.loads(to_json(session.traces)),
            "turns": json.loads(to_json(session.turns)),
            "redacted": session.redacted,
        }
        out.print(json.dumps(payload, indent=2), markup=False, highlight=False, soft_wrap=True)
        return
    if fmt != "table":
        emit(session.traces, fmt, out)
        return
    row = session.summary.row(0, named=True)
    out.print(
        Text(
            f"session {row['session']}  user {row['user'] or '-'}  {row['traces']} trace(s), "
            f"{row['turns']} turn(s), {duration(row['duration'])}, {money(row['cost'])}, "
            f"{row['errors']} failed",
            style="bold",
        ),
        soft_wrap=True,
    )
    if row.get("before_window"):
        began = format_cell(row["start"])
        out.print(
            Text(f"began {began}, before the window: the traces and turns below are the window's")
        )
    if row.get("after_window"):
        ended = format_cell(row["start"] + timedelta(microseconds=row["duration"] // 1000))
        out.print(
            Text(
                f"went on until {ended}, after the window: "
                "the traces and turns below are the window's"
            )
        )
    out.print(_table(session.traces, _FORMATS))
    out.print(Text("conversation" + (" (redacted)" if session.redacted else ""), style="bold"))
    for turn in session.turns.iter_rows(named=True):
        failed = turn["status_code"] == "error"
        head = f"{format_cell(turn['start_time'])}  {turn['model'] or '?'}"
        head += f"  trace {turn['trace_id'][:12]}" + ("  error" if failed else "")
        out.print(Text(head, style="red" if failed else "dim"))
        for who, text in (("in ", turn["input_text"]), ("out", turn["output_text"])):
            shown = _preview(text, full)
            out.print(Text(f"  {who} ", style="bold") + Text(shown), soft_wrap=True)


def _preview(text: str | None, full: bool) -> str:
    if text is None:
        return "-"
    if full or len(text) <= PREVIEW:
        return text
    return text[:PREVIEW] + f"... ({len(text) - PREVIEW} more characters, --full shows all)"
