"""DuckDB: the store's Parquet read in one process, with DuckDB's own parallel scans.

``pip install 'pyflare[duckdb]'``. Reads the parts of the window's days; the filter on
``start_time`` skips row groups by their statistics. Results come back through Arrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyflare_cli.engine.base import DUCKDB, SqlEngine
from pyflare_cli.engine.parquet import empty_spans, ns, window_files
from pyflare_cli.errors import UsageError
from pyflare_cli.store.remote import RemoteStore, remote_of

if TYPE_CHECKING:
    import polars as pl


class DuckDBEngine(SqlEngine):
    name = "duckdb"
    dialect = DUCKDB

    def __init__(self, root: Path, threads: int | None = None) -> None:
        try:
            import duckdb
        except ImportError:
            raise UsageError(
                "--engine duckdb needs DuckDB: pip install 'pyflare[duckdb]'"
            ) from None
        self.root = root
        self._s3 = False
        self._con: Any = duckdb.connect(":memory:")
        self._con.execute("SET TimeZone = 'UTC'")
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")

    def spans(self, since: datetime | None, until: datetime | None, columns: Sequence[str]) -> str:
        remote = remote_of(self.root)
        if remote is not None:
            source = self._remote(remote, since, until)
            if source is None:
                return empty_spans(self.dialect, columns)
        else:
            files = window_files(self.root, since, until)
            if not files:
                return empty_spans(self.dialect, columns)
            paths = ", ".join(self.dialect.literal(str(f)) for f in files)
            source = f"read_parquet([{paths}])"
        where = []
        # Compared as TIMESTAMPTZ_NS literals, so DuckDB prunes row groups on statistics.
        if since is not None:
            where.append(f"start_time >= make_timestamp_ns({ns(since)})::TIMESTAMPTZ")
        if until is not None:
            where.append(f"start_time < make_timestamp_ns({ns(until)})::TIMESTAMPTZ")
        cols = ", ".join(
            [*columns, "epoch_ns(start_time) AS start_ns", "epoch_ns(end_time) AS end_ns"]
        )
        text = f"SELECT {cols} FROM {source}"
        return text + (f" WHERE {' AND '.join(where)}" if where else "")

    def _remote(
        self, store: RemoteStore, since: datetime | None, until: datetime | None
    ) -> str | None:
        """``read_parquet`` of the window's parts of an ``s3://`` store. DuckDB's httpfs
        extension is a download at run time (not a package), so DuckDB reads the objects
        through PyArrow's S3 filesystem, registered as an fsspec filesystem (fsspec's
        ``ArrowFSWrapper``): the same parquet reader as for a folder, with its row-group
        pruning, only the byte ranges asked for crossing the wire."""
        urls = store.span_urls(since, until)
        if not urls:
            return None
        if not self._s3:
            try:
                from fsspec.implementations.arrow import ArrowFSWrapper  # type: ignore[import-untyped]
            except ImportError:
                raise UsageError(
                    f"--store {store.url} with --engine duckdb needs fsspec: "
                    "pip install 'pyflare[duckdb]'"
                ) from None

            class S3Wrapper(ArrowFSWrapper):  # type: ignore[misc]
                protocol = "s3"

            self._con.register_filesystem(S3Wrapper(store.filesystem()))
            self._s3 = True
        return "read_parquet([" + ", ".join(self.dialect.literal(u) for u in urls) + "])"

    def collect_all(self, queries: Sequence[str]) -> list[pl.DataFrame]:
        import polars as pl

        return [pl.from_arrow(self._con.sql(q).to_arrow_table()) for q in queries]  # type: ignore[misc]

    def close(self) -> None:
        self._con.close()
