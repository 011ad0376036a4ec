"""What every engine offers, and the few SQL spellings in which the SQL engines differ.

The interface is deliberately small (issue 23): scan a time range of the spans with
pruning, upload a small table (prices), collect several queries in one go, and sample.
A *relation* is what an engine's queries are made of: a lazy frame for Polars, the text
of a ``SELECT`` for the SQL engines (DuckDB, Spark SQL, ClickHouse). Everything engine
specific stays behind this seam; analyses and commands see Polars frames only.

The SQL engines share one query text per analysis (see :mod:`engine.cost_sql`); a
:class:`Dialect` holds what is spelt differently: how a timestamp becomes integer
nanoseconds, 128-bit integers, integer division, map lookups, string literals.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from pyflare_cli.errors import UsageError

if TYPE_CHECKING:
    import polars as pl

ENGINES = ("polars", "duckdb", "spark", "clickhouse")


class EngineUnsupported(UsageError):
    """An analysis or an option that an engine cannot run yet: exit 2, never a local load."""


def unsupported(engine: str, what: str) -> EngineUnsupported:
    """The one-line refusal for ``what`` (a command or an option) on ``engine``."""
    return EngineUnsupported(
        f"{what} does not run on --engine {engine} yet (docs/scale.md lists what does); "
        "use --engine polars"
    )


@dataclass(frozen=True)
class Dialect:
    """How one SQL engine spells the few things the shared query texts need."""

    name: str
    int128: str
    int64: str
    float64: str
    string: str
    backslash_escapes: bool

    def cast(self, expr: str, to: str) -> str:
        if self.name == "clickhouse":
            # CAST(NULL AS Int64) fails in ClickHouse; the to* functions keep NULLs.
            fn = {
                self.int128: "toInt128",
                self.int64: "toInt64",
                self.float64: "toFloat64",
                self.string: "toString",
            }[to]
            return f"{fn}({expr})"
        return f"CAST({expr} AS {to})"

    def big(self, expr: str) -> str:
        """``expr`` as a 128-bit integer (exact sums and products of prices and tokens)."""
        return self.cast(expr, self.int128)

    def idiv(self, a: str, b: str) -> str:
        """Integer division of non-negative integers."""
        if self.name == "clickhouse":
            return f"intDiv({a}, {b})"
        if self.name == "spark":
            return f"(({a}) div ({b}))"
        return f"(({a}) // ({b}))"

    def literal(self, text: str) -> str:
        body = text.replace("\\", "\\\\") if self.backslash_escapes else text
        if self.backslash_escapes:
            return "'" + body.replace("'", "\\'") + "'"
        return "'" + body.replace("'", "''") + "'"

    def map_get(self, column: str, key: str) -> str:
        """The value of ``key`` in a string map column, NULL when absent."""
        k = self.literal(key)
        if self.name == "clickhouse":
            return f"if(mapContains({column}, {k}), {column}[{k}], NULL)"
        if self.name == "spark":
            return f"try_element_at({column}, {k})"
        return f"{column}[{k}]"

    def to_float(self, expr: str) -> str:
        """Text as a float, NULL when it is not a number (Polars' ``cast(strict=False)``)."""
        if self.name == "clickhouse":
            return f"toFloat64OrNull({expr})"
        return f"TRY_CAST({expr} AS DOUBLE)"

    def sorted_distinct(self, column: str) -> str:
        """The sorted distinct non-null values of ``column`` in a group, as a list."""
        if self.name == "clickhouse":
            return f"arraySort(groupUniqArray({column}))"
        if self.name == "spark":
            return f"array_sort(collect_set({column}))"
        return f"list_sort(list_distinct(list({column})))"

    def round_even(self, expr: str) -> str:
        """A float rounded to a whole number, ties to even (as Polars' ``round``)."""
        if self.name == "clickhouse":
            return f"roundBankers({expr})"
        if self.name == "spark":
            return f"bround({expr}, 0)"
        return f"round_even({expr}, 0)"

    def hash(self, column: str, seed: int) -> str:
        """A 64-bit hash of a string column and a seed (for sampling; engine specific)."""
        if self.name == "clickhouse":
            return f"cityHash64({column}, {int(seed)})"
        if self.name == "spark":
            return f"xxhash64({column}, {int(seed)})"
        return f"hash({column}, {int(seed)})"


DUCKDB = Dialect("duckdb", "HUGEINT", "BIGINT", "DOUBLE", "VARCHAR", backslash_escapes=False)
SPARK = Dialect("spark", "DECIMAL(38,0)", "BIGINT", "DOUBLE", "STRING", backslash_escapes=True)
CLICKHOUSE = Dialect("clickhouse", "Int128", "Int64", "Float64", "String", backslash_escapes=True)


class SqlEngine(ABC):
    """An engine whose relations are ``SELECT`` texts in its :attr:`dialect`.

    :meth:`spans` selects columns of the spans whose ``start_time`` lies in
    ``[since, until)``, with ``start_ns``/``end_ns`` (integer nanoseconds since the epoch)
    added, pruned the engine's way (partitions, row-group statistics, a table's key).
    """

    name: ClassVar[str]
    dialect: ClassVar[Dialect]

    @abstractmethod
    def spans(self, since: datetime | None, until: datetime | None, columns: Sequence[str]) -> str:
        """A ``SELECT`` of ``columns`` plus ``start_ns`` and ``end_ns`` of the window's spans."""

    def upload(self, frame: pl.DataFrame) -> str:
        """A small table as a ``SELECT`` (a literal union: no temporary table is written,
        so a read-only ClickHouse user or a shared Spark cluster can run it)."""
        return literal_table(self.dialect, frame)

    @abstractmethod
    def collect_all(self, queries: Sequence[str]) -> list[pl.DataFrame]:
        """Run every query, each result as a Polars frame (small: results, not spans)."""

    def sample(self, relation: str, n: int, seed: int, key: str = "span_id") -> str:
        """``n`` rows of ``relation`` chosen by a seeded hash of ``key`` (a top-n, so memory
        stays bounded by ``n``). The same seed gives the same sample on one engine; engines
        hash differently, so samples differ between engines."""
        order = self.dialect.hash(key, seed)
        return f"SELECT * FROM ({relation}) AS r ORDER BY {order}, {key} LIMIT {int(n)}"

    def cached(self, relation: str) -> str | None:
        """``relation`` computed once and kept for this session's later queries, as a
        ``SELECT``; None where the engine keeps nothing (a ``MATERIALIZED`` CTE or the
        engine's own reuse does it within one query)."""
        return None

    def close(self) -> None:  # noqa: B027 - most engines hold nothing to release
        """Release the engine's connection or session."""


def literal_table(dialect: Dialect, frame: pl.DataFrame) -> str:
    """``frame`` (integers, floats, strings, nulls) as a ``SELECT ... UNION ALL`` text."""
    import polars as pl

    types = {}
    for name, dtype in frame.schema.items():
        if dtype.is_integer():
            types[name] = dialect.int64
        elif dtype.is_float():
            types[name] = dialect.float64
        elif dtype == pl.String:
            types[name] = dialect.string
        else:
            raise TypeError(f"cannot upload column {name} of type {dtype}")

    def value(v: object, to: str) -> str:
        if v is None:
            return dialect.cast("NULL", to)
        if isinstance(v, str):
            return dialect.cast(dialect.literal(v), to)
        return dialect.cast(repr(v), to)

    rows = [
        "SELECT " + ", ".join(f"{value(row[c], types[c])} AS {c}" for c in frame.columns)
        for row in frame.iter_rows(named=True)
    ]
    if not rows:
        nulls = ", ".join(f"{value(None, types[c])} AS {c}" for c in frame.columns)
        return f"SELECT * FROM (SELECT {nulls}) AS empty WHERE 1 = 0"
    return " UNION ALL ".join(rows)
