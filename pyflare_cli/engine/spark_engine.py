"""Spark: Spark Connect (``sc://host:port``), a standalone cluster (``spark://``) or
``local[n]`` in this process.

``pip install 'pyflare[spark]'`` (Java 17 for ``local``/``spark://``; Spark Connect needs
only the client). The store's Parquet is read by the executors, so for a cluster the
store must be at a path every executor sees (a shared mount, or object storage).

Spark cannot read Parquet ``TIMESTAMP(NANOS)`` columns (the store's times) unless
``spark.sql.legacy.parquet.nanosAsLong=true``: they then arrive as integer nanoseconds,
which is what the shared SQL works on anyway (``start_ns``); the filter on the long
still prunes row groups.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyflare_cli.engine.base import SPARK, SqlEngine
from pyflare_cli.engine.parquet import empty_spans, ns, window_files
from pyflare_cli.errors import UsageError

if TYPE_CHECKING:
    import polars as pl

MASTER_ENV = "PYFLARE_SPARK_MASTER"
DEFAULT_MASTER = "local[*]"
_VIEWS = itertools.count()


def spark_master(option: str | None, configured: str | None = None) -> str:
    """``--spark-master``, else ``$PYFLARE_SPARK_MASTER``, else ``engine.spark_master`` of
    pyflare.yaml, else ``local[*]``; checked."""
    master = option or os.environ.get(MASTER_ENV) or configured or DEFAULT_MASTER
    if not (master.startswith(("local", "spark://", "sc://", "yarn", "k8s://"))):
        raise UsageError(
            f"--spark-master {master!r}: use local[n], spark://host:port or sc://host:port"
        )
    return master


def session(master: str) -> Any:
    """A Spark session for ``master`` with the settings the store needs."""
    try:
        with warnings.catch_warnings():  # "pandas >= 3 not fully supported": not used here
            warnings.simplefilter("ignore", FutureWarning)
            from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("--engine spark needs PySpark: pip install 'pyflare[spark]'") from None
    builder = SparkSession.builder.appName("pyflare")
    if master.startswith("sc://"):
        builder = builder.remote(master)
    else:
        builder = (
            builder.master(master)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "8")
        )
    spark = builder.getOrCreate()
    if not master.startswith("sc://"):
        spark.sparkContext.setLogLevel("ERROR")
    spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    # The recursive walks (rca's origin, cost's agent/tool ancestry) visit every span of a
    # window and go as deep as the deepest trace: Spark's defaults (100 levels, 1M rows)
    # would fail on a big window or a deep trace. The walks bound themselves.
    spark.conf.set("spark.sql.cteRecursionLevelLimit", "-1")
    spark.conf.set("spark.sql.cteRecursionRowLimit", "-1")
    return spark


class SparkEngine(SqlEngine):
    name = "spark"
    dialect = SPARK

    def __init__(self, root: Path, master: str) -> None:
        self.root = root
        self.master = master
        self._spark = session(master)

    def spans(self, since: datetime | None, until: datetime | None, columns: Sequence[str]) -> str:
        files = window_files(self.root, since, until)
        if not files:
            return empty_spans(self.dialect, columns)
        view = f"pyflare_spans_{os.getpid()}_{next(_VIEWS)}"
        self._spark.read.parquet(*(str(f) for f in files)).createOrReplaceTempView(view)
        where = []
        if since is not None:
            where.append(f"start_time >= {ns(since)}")
        if until is not None:
            where.append(f"start_time < {ns(until)}")
        cols = ", ".join([*columns, "start_time AS start_ns", "end_time AS end_ns"])
        text = f"SELECT {cols} FROM {view}"
        return text + (f" WHERE {' AND '.join(where)}" if where else "")

    def cached(self, relation: str) -> str | None:
        """``CACHE TABLE``: Spark re-reads a CTE at each use, so a relation read by many
        branches (an alert check's lookback) is computed once into the executors' cache."""
        view = f"pyflare_cached_{os.getpid()}_{next(_VIEWS)}"
        self._spark.sql(f"CACHE TABLE {view} AS {relation}")
        return f"SELECT * FROM {view}"

    def collect_all(self, queries: Sequence[str]) -> list[pl.DataFrame]:
        import polars as pl

        return [pl.from_arrow(self._spark.sql(q).toArrow()) for q in queries]  # type: ignore[misc]

    def close(self) -> None:
        # On Spark Connect this ends this client's session, not the server.
        self._spark.stop()
