"""``engine:`` in ``pyflare.yaml``: which engine runs the analyses, and where Spark is.

Either a name (``engine: duckdb``) or a mapping::

    engine:
      name: spark
      spark_master: sc://spark.internal:15002

``--engine``/``$PYFLARE_ENGINE`` and ``--spark-master``/``$PYFLARE_SPARK_MASTER`` win.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyflare_cli.errors import UsageError

ENGINE_NAMES = ("polars", "duckdb", "spark", "clickhouse")


@dataclass(frozen=True)
class EngineConfig:
    name: str | None = None
    spark_master: str | None = None


def parse_engine(section: Any, where: str) -> EngineConfig:
    """The ``engine`` section (absent: nothing chosen); exit 2 naming the file otherwise."""
    if section is None:
        return EngineConfig()
    if isinstance(section, str):
        section = {"name": section}
    if not isinstance(section, dict):
        raise UsageError(f"{where}: engine must be a name or a mapping with name, spark_master")
    unknown = sorted(set(section) - {"name", "spark_master"})
    if unknown:
        raise UsageError(f"{where}: engine.{unknown[0]} is not a setting (name, spark_master)")
    name = section.get("name")
    if name is not None and name not in ENGINE_NAMES:
        raise UsageError(f"{where}: engine {name!r}: use one of {', '.join(ENGINE_NAMES)}")
    master = section.get("spark_master")
    if master is not None and not isinstance(master, str):
        raise UsageError(f"{where}: engine.spark_master must be a string")
    return EngineConfig(name, master)
