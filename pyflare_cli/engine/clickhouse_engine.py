"""ClickHouse: a server through clickhouse-connect, or chdb (ClickHouse in this process),
with the same SQL.

``pip install 'pyflare[clickhouse]'``. The spans are either the store's Parquet (read by
ClickHouse's ``file()`` over the window's day folders) or a table written by the
OpenTelemetry Collector's ClickHouse exporter, read through the canonical view of
:mod:`engine.otel_traces` (inlined in every query, so a read-only user can run it).

``--store clickhouse://user:password@host:8123/db?table=otel_traces`` names a server;
``--store chdb:///path/to/session?table=otel_traces`` a chdb session folder; a store
folder with ``--engine clickhouse`` is read by chdb.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, unquote, urlparse

from pyflare_cli.engine.base import CLICKHOUSE, SqlEngine
from pyflare_cli.engine.otel_traces import canonical_select
from pyflare_cli.engine.parquet import empty_spans, ns, window_files
from pyflare_cli.errors import UsageError

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

SETTINGS = {
    "join_use_nulls": 1,
    "max_ast_elements": 1_000_000,
    "max_expanded_ast_elements": 10_000_000,
    "max_query_size": 16 << 20,
}
"""A LEFT JOIN's missing side is NULL (ClickHouse fills default values otherwise); the
query of a check of many alert rules (one branch each) is larger than the default AST cap,
and rca ``--where`` over the ``otel_traces`` view (the view's text in every filtered
relation) is larger than the default 256 KiB of query text."""
CHDB_SETTINGS = {"enable_materialized_cte": 1}
"""chdb (a recent ClickHouse) computes a ``MATERIALIZED`` CTE once per query; older servers
lack the setting, so a server inlines the CTE at each use (same result, more work)."""
_IDENT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_."


class Runner(Protocol):
    def arrow(self, sql: str) -> pa.Table: ...

    def close(self) -> None: ...


class ChdbRunner:
    """Queries run by chdb: stateless, or in a session folder (tables persist there)."""

    def __init__(self, path: Path | None = None) -> None:
        try:
            from chdb import session
        except ImportError:
            raise UsageError(
                "--engine clickhouse without a server needs chdb: pip install 'pyflare[clickhouse]'"
            ) from None
        maker: Any = session.Session
        self._session: Any = maker(str(path)) if path else maker()

    def arrow(self, sql: str) -> pa.Table:
        return self._session.query(sql, "ArrowTable")

    def execute(self, sql: str) -> None:
        self._session.query(sql)

    def close(self) -> None:
        self._session.close()


class ServerRunner:
    """Queries sent to a ClickHouse server over HTTP (clickhouse-connect)."""

    def __init__(self, host: str, port: int, user: str, password: str, database: str) -> None:
        try:
            import clickhouse_connect
        except ImportError:
            raise UsageError(
                "a clickhouse:// store needs clickhouse-connect: pip install 'pyflare[clickhouse]'"
            ) from None
        try:
            self._client: Any = clickhouse_connect.get_client(
                host=host, port=port, username=user, password=password, database=database
            )
        except Exception as exc:  # the driver raises its own OperationalError family
            raise UsageError(f"clickhouse://{host}:{port}: cannot connect ({exc})") from None

    def arrow(self, sql: str) -> pa.Table:
        return self._client.query_arrow(sql, settings=SETTINGS)

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True)
class ClickHouseSource:
    """Where the spans are: the store's Parquet (``root``) or an ``otel_traces`` table."""

    root: Path | None = None
    table: str | None = None


def parse_url(url: str) -> tuple[Runner, ClickHouseSource]:
    """``clickhouse://[user[:password]@]host[:port][/db]?table=T`` or ``chdb://PATH?table=T``."""
    parsed = urlparse(url)
    table = (parse_qs(parsed.query, keep_blank_values=True).get("table") or ["otel_traces"])[0]
    if not table or any(ch not in _IDENT for ch in table):
        raise UsageError(f"--store {url}: table={table!r} is not a plain table name")
    if parsed.scheme == "chdb":
        path = Path(unquote(parsed.netloc + parsed.path))
        if not path.is_dir():
            raise UsageError(f"--store {url}: chdb session folder {path} does not exist")
        return ChdbRunner(path), ClickHouseSource(table=table)
    if parsed.scheme != "clickhouse" or not parsed.hostname:
        raise UsageError(f"--store {url}: use clickhouse://host:8123/db?table=otel_traces")
    database = parsed.path.strip("/") or "default"
    runner = ServerRunner(
        parsed.hostname,
        parsed.port or 8123,
        unquote(parsed.username or "default"),
        unquote(parsed.password or ""),
        database,
    )
    return runner, ClickHouseSource(table=table)


class ClickHouseEngine(SqlEngine):
    name = "clickhouse"
    dialect = CLICKHOUSE

    def __init__(self, runner: Runner, source: ClickHouseSource) -> None:
        self.runner = runner
        self.source = source

    def _from(self, since: datetime | None, until: datetime | None) -> str | None:
        if self.source.table is not None:
            return f"({canonical_select(self.source.table)})"
        assert self.source.root is not None
        files = window_files(self.source.root, since, until)
        if not files:
            return None
        days = sorted({f.parent.name for f in files})
        folder = self.source.root / "spans"
        pattern = f"{folder}/{{{','.join(days)}}}/part-*.parquet"
        return f"file({self.dialect.literal(pattern)}, Parquet)"

    def spans(self, since: datetime | None, until: datetime | None, columns: Sequence[str]) -> str:
        source = self._from(since, until)
        if source is None:
            return empty_spans(self.dialect, columns)
        where = []
        if since is not None:
            where.append(f"start_time >= fromUnixTimestamp64Nano({ns(since)}, 'UTC')")
        if until is not None:
            where.append(f"start_time < fromUnixTimestamp64Nano({ns(until)}, 'UTC')")
        cols = ", ".join(
            [
                *(self._column(c) for c in columns),
                "toUnixTimestamp64Nano(start_time) AS start_ns",
                "toUnixTimestamp64Nano(end_time) AS end_ns",
            ]
        )
        text = f"SELECT {cols} FROM {source} AS spans"
        return text + (f" WHERE {' AND '.join(where)}" if where else "")

    def _column(self, column: str) -> str:
        """``column`` as read from the source: the ``otel_traces`` view has no message
        texts, so they read as NULL (searches that need them are refused before)."""
        if self.source.table is not None and column in ("input_text", "output_text"):
            return f"CAST(NULL AS Nullable(String)) AS {column}"
        return column

    def collect_all(self, queries: Sequence[str]) -> list[pl.DataFrame]:
        import polars as pl

        settings = ", ".join(f"{k} = {v}" for k, v in {**SETTINGS, **CHDB_SETTINGS}.items())
        out = []
        for query in queries:
            server = isinstance(self.runner, ServerRunner)
            text = query if server else f"{query} SETTINGS {settings}"
            out.append(pl.from_arrow(self.runner.arrow(text)))
        return out  # type: ignore[return-value]

    def close(self) -> None:
        self.runner.close()
