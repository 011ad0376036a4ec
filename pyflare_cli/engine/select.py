"""Which engine a command runs on, and over which spans: options, environment, config.

``--engine`` > ``$PYFLARE_ENGINE`` > ``engine:`` in pyflare.yaml > polars. ``--store``
is a store folder, or a ClickHouse URL (``clickhouse://host:8123/db?table=otel_traces``,
``chdb:///session/folder?table=otel_traces``), which implies the ClickHouse engine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pyflare_cli.config.engine import ENGINE_NAMES, parse_engine
from pyflare_cli.config.file import Config
from pyflare_cli.errors import UsageError
from pyflare_cli.store.layout import read_store
from pyflare_cli.store.remote import remote_of

if TYPE_CHECKING:
    from pyflare_cli.engine.cost import Engine

ENGINE_ENV = "PYFLARE_ENGINE"
URL_SCHEMES = ("clickhouse://", "chdb://")


def engine_name(option: str | None, cfg: Config, store: str | None) -> str:
    """The chosen engine's name; a ClickHouse URL store picks ClickHouse (unless
    ``--engine`` or ``$PYFLARE_ENGINE`` asks for another: exit 2)."""
    configured = parse_engine(cfg.raw.get("engine"), str(cfg.path)).name
    asked = option or os.environ.get(ENGINE_ENV)
    name = asked or configured
    from_env = f"${ENGINE_ENV}" if os.environ.get(ENGINE_ENV) else f"{cfg.path}: engine"
    source = "--engine" if option else from_env
    if name is not None and name not in ENGINE_NAMES:
        raise UsageError(f"{source} {name!r}: use one of {', '.join(ENGINE_NAMES)}")
    if store is not None and store.startswith(URL_SCHEMES):
        if asked not in (None, "clickhouse"):
            raise UsageError(
                f"--store {store.split('?')[0]} is a ClickHouse store: use --engine clickhouse"
            )
        return "clickhouse"
    return name or "polars"


def open_engine(
    option: str | None, cfg: Config, store: str | None, spark_master: str | None = None
) -> Engine:
    """The engine to run on, connected (exit 2 when its package or server is missing)."""
    name = engine_name(option, cfg, store)
    if store is not None and store.startswith(URL_SCHEMES):
        from pyflare_cli.engine.clickhouse_engine import ClickHouseEngine, parse_url

        return ClickHouseEngine(*parse_url(store))
    root = read_store(store, remote=True)
    remote = remote_of(root)
    if remote is not None and name in ("spark", "clickhouse"):
        raise UsageError(
            f"--store {remote.url}: --engine {name} does not read s3:// stores yet "
            "(docs/scale.md); use --engine polars or duckdb"
        )
    if name == "duckdb":
        from pyflare_cli.engine.duckdb_engine import DuckDBEngine

        return DuckDBEngine(root)
    if name == "spark":
        from pyflare_cli.engine.spark_engine import SparkEngine
        from pyflare_cli.engine.spark_engine import spark_master as master_of

        configured = parse_engine(cfg.raw.get("engine"), str(cfg.path)).spark_master
        return SparkEngine(root, master_of(spark_master, configured))
    if name == "clickhouse":
        from pyflare_cli.engine.clickhouse_engine import (
            ChdbRunner,
            ClickHouseEngine,
            ClickHouseSource,
        )

        return ClickHouseEngine(ChdbRunner(), ClickHouseSource(root=root))
    from pyflare_cli.engine.polars_engine import PolarsEngine

    return PolarsEngine(root)


def folder_store(store: Path | None, what: str) -> str | None:
    """``--store`` for a command that keeps ``what`` in the store folder: a folder, never a
    ClickHouse URL (``--engine clickhouse`` reads the folder's Parquet with chdb)."""
    text = str(store) if store is not None else None
    if text is not None and text.startswith((*URL_SCHEMES, "clickhouse:", "chdb:")):
        raise UsageError(
            f"--store {text.split('?')[0]}: {what} need a store folder; "
            "use --engine clickhouse with the folder"
        )
    return text


@contextmanager
def engine_session(
    option: str | None, cfg: Config, store: str | None, spark_master: str | None = None
) -> Iterator[Engine]:
    """:func:`open_engine`, closed when the command is done with it."""
    engine = open_engine(option, cfg, store, spark_master)
    try:
        yield engine
    finally:
        engine.close()
