"""The options of commands that run on an engine (docs/scale.md): declared once."""

from __future__ import annotations

from typing import Annotated

import typer

EngineOption = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="polars (default), duckdb, spark or clickhouse. Default: $PYFLARE_ENGINE, "
        "else engine: in pyflare.yaml.",
        show_default=False,
    ),
]
SparkMasterOption = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="With --engine spark: local[n], spark://host:7077 or sc://host:15002. "
        "Default: $PYFLARE_SPARK_MASTER, else local[*].",
        show_default=False,
    ),
]
EngineStoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Store folder, s3://bucket/prefix, or clickhouse://host:8123/db?table=otel_traces. "
        "Default: $PYFLARE_STORE, else ./.pyflare",
        show_default=False,
    ),
]

ENGINE_ENV = "PYFLARE_ENGINE"
OFF_SEAM = frozenset(
    (
        "trace",
        "query",
        "tui",
        "stats",
        "sessions",
        "session",
        "users",
        "tools",
        "metrics",
        "eval",
        "report",
    )
)
"""Commands that read spans for an analysis but do not run on the engine seam yet."""


def refuse_engine(command: str) -> None:
    """Exit 2 when ``$PYFLARE_ENGINE`` asks for an engine ``command`` cannot run on yet,
    rather than load the spans into this process anyway."""
    import os

    from pyflare_cli.errors import UsageError

    engine = os.environ.get(ENGINE_ENV, "").strip()
    if engine and engine != "polars":
        raise UsageError(
            f"pyflare {command} does not run on ${ENGINE_ENV}={engine} yet "
            "(docs/scale.md lists what does); unset it or set it to polars"
        )
