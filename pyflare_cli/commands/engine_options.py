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
        help="Store folder, or clickhouse://host:8123/db?table=otel_traces. "
        "Default: $PYFLARE_STORE, else ./.pyflare",
        show_default=False,
    ),
]
