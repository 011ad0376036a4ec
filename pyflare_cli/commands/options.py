"""Options shared by every command, declared once (DESIGN.md "Command conventions")."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class GateFormat(StrEnum):
    """What a gate prints: its text, a stable JSON verdict, or a CI step summary."""

    table = "table"
    json = "json"
    markdown = "markdown"


GateFormatOption = Annotated[
    GateFormat,
    typer.Option(
        "--format", "-f", help="table, json (the verdict) or markdown.", case_sensitive=False
    ),
]

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Store folder. Default: $PYFLARE_STORE, else ./.pyflare",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Config file. Default: $PYFLARE_CONFIG, else ./pyflare.yaml",
        show_default=False,
    ),
]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="Only spans that start at or after: 30m, 24h, 7d or an ISO date."),
]
WindowStartOption = Annotated[
    str, typer.Option("--since", help="Window start: 30m, 24h, 7d or an ISO date.")
]
"""``--since`` of a command that always has a window (its default is the command's)."""
UntilOption = Annotated[
    str | None,
    typer.Option("--until", help="Only spans that start before: 30m, 24h, 7d or an ISO date."),
]
WhereOption = Annotated[
    str | None,
    typer.Option("--where", "-w", help="Search query, e.g. 'service:api status:error'."),
]
HtmlOption = Annotated[
    Path | None,
    typer.Option(
        "--html",
        help="Also write this report as a self-contained HTML page (see pyflare report).",
        show_default=False,
    ),
]
"""``--html FILE`` of cost, drift and rca: the command's section of ``pyflare report``."""

PricesOption = Annotated[
    Path | None,
    typer.Option("--prices", help="A LiteLLM model_prices_and_context_window.json file."),
]
