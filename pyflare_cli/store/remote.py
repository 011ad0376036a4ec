"""Stores on S3-compatible object storage (``--store s3://bucket/prefix``), read-only.

A store written by ``pyflare ingest`` and copied to a bucket (``aws s3 sync .pyflare
s3://bucket/prefix``) keeps its layout: ``<prefix>/spans/date=YYYY-MM-DD/part-*.parquet``.
The reading commands list the parts of a window's days here (one paged ``ListObjectsV2``),
and Polars, DuckDB or chdb read them where they are; nothing is downloaded whole.

What a reading command keeps in a store folder (the price answers, drift samples, alert
states) goes to a local companion folder, ``$XDG_CACHE_HOME/pyflare/s3/<bucket>/<prefix>``
(``~/.cache`` by default): the bucket is never written. Commands that write spans
(``ingest``, ``receive``, ``store compact``...) refuse an ``s3://`` store.

Credentials, region and endpoint come from the standard AWS variables
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL`` for
MinIO, Ceph or another S3-compatible server), so every engine is handed the same ones.
Listing uses PyArrow's S3 filesystem (already a dependency); the one-line errors for a
missing bucket, a missing prefix or refused credentials come from that first listing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyflare_cli.errors import UsageError

if TYPE_CHECKING:
    import polars as pl
    import pyarrow.fs as pafs

REMOTE_PREFIX = "s3://"
_PART = re.compile(r"/spans/date=(\d{4}-\d{2}-\d{2})/part-[^/]*\.parquet$")
_OPEN: dict[Path, RemoteStore] = {}
"""Companion folder -> the store it stands for (one per store opened in this process)."""


def is_remote(text: str | Path | None) -> bool:
    """Whether a ``--store`` value names an object store (``s3://``; a ``Path`` has
    collapsed the double slash to ``s3:/``)."""
    return text is not None and str(text).startswith("s3:/")


def store_url(text: str | Path) -> str:
    """``s3://bucket/prefix`` from a ``--store`` value, whatever ``Path`` made of it."""
    return REMOTE_PREFIX + str(text)[4:].lstrip("/").rstrip("/")


@dataclass(frozen=True)
class RemoteStore:
    """One store under ``s3://bucket/prefix`` and how to reach it."""

    bucket: str
    prefix: str
    endpoint: str | None = None
    region: str = "us-east-1"
    key_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"{REMOTE_PREFIX}{self.bucket}/{self.prefix}".rstrip("/")

    def key(self, rest: str) -> str:
        """``bucket/prefix/rest`` (PyArrow's path form)."""
        return "/".join(p for p in (self.bucket, self.prefix, rest) if p)

    def storage_options(self) -> dict[str, str]:
        """The options Polars' object store takes (and DuckDB's secrets mirror)."""
        options = {"aws_region": self.region}
        if self.endpoint:
            options["aws_endpoint_url"] = self.endpoint
            if self.endpoint.startswith("http://"):
                options["aws_allow_http"] = "true"
        if self.key_id and self.secret:
            options["aws_access_key_id"] = self.key_id
            options["aws_secret_access_key"] = self.secret
        if self.token:
            options["aws_session_token"] = self.token
        return options

    def filesystem(self) -> pafs.S3FileSystem:
        """PyArrow's S3 filesystem with these settings (listing; DuckDB's datasets)."""
        return _filesystem(self)

    def span_urls(self, since: datetime | None, until: datetime | None) -> list[str]:
        """``s3://`` URLs of the parts whose UTC day can hold spans in ``[since, until)``,
        oldest day first (the day pruning of :func:`store.scan.span_files`)."""
        return [f"{REMOTE_PREFIX}{key}" for key in self.span_keys(since, until)]

    def span_keys(self, since: datetime | None, until: datetime | None) -> list[str]:
        """``bucket/prefix/spans/date=.../part-*.parquet`` of the window's days, sorted."""
        import pyarrow.fs as pafs

        low = since.astimezone(UTC).date() if since else None
        high = until.astimezone(UTC).date() if until else None
        selector = pafs.FileSelector(self.key("spans"), recursive=True, allow_not_found=True)
        infos = _listing(self, lambda: self.filesystem().get_file_info(selector))
        keys = []
        for info in infos:
            found = _PART.search("/" + info.path)
            if info.type != pafs.FileType.File or found is None:
                continue
            day = date.fromisoformat(found.group(1))
            if (low and day < low) or (high and day > high):
                continue
            keys.append(info.path)
        return sorted(keys)


def open_remote(text: str | Path) -> Path:
    """Check that the store named by ``text`` exists and can be listed with the
    credentials at hand, and return its local companion folder (exit 2 otherwise)."""
    store = parse_remote(text)
    import pyarrow.fs as pafs

    bucket = _listing(store, lambda: [store.filesystem().get_file_info(store.bucket)])
    if bucket[0].type == pafs.FileType.NotFound:
        raise UsageError(f"store {store.url} cannot be read: bucket {store.bucket} does not exist")
    top = pafs.FileSelector(store.key(""), recursive=False, allow_not_found=True)
    if not _listing(store, lambda: store.filesystem().get_file_info(top)):
        raise UsageError(
            f"store {store.url} does not exist (no object under it; give --store or set "
            "PYFLARE_STORE)"
        )
    folder = companion(store)
    folder.mkdir(parents=True, exist_ok=True)
    _OPEN[folder] = store
    return folder


def remote_of(root: Path) -> RemoteStore | None:
    """The object store whose companion folder is ``root``, None for a local store."""
    return _OPEN.get(root) if _OPEN else None


def parse_remote(text: str | Path) -> RemoteStore:
    """A :class:`RemoteStore` from ``s3://bucket/prefix`` and the AWS environment."""
    url = store_url(text)
    bucket, _, prefix = url[len(REMOTE_PREFIX) :].partition("/")
    if not bucket:
        raise UsageError(f"store {url}: give a bucket, s3://bucket/prefix")
    env = os.environ.get
    return RemoteStore(
        bucket=bucket,
        prefix=prefix.strip("/"),
        endpoint=env("AWS_ENDPOINT_URL_S3") or env("AWS_ENDPOINT_URL") or None,
        region=env("AWS_REGION") or env("AWS_DEFAULT_REGION") or "us-east-1",
        key_id=env("AWS_ACCESS_KEY_ID") or None,
        secret=env("AWS_SECRET_ACCESS_KEY") or None,
        token=env("AWS_SESSION_TOKEN") or None,
    )


def companion(store: RemoteStore) -> Path:
    """The local folder for what reading commands keep beside a store (caches, states)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pyflare" / "s3" / store.bucket / (store.prefix or "_")


_FILESYSTEMS: dict[RemoteStore, Any] = {}


def _filesystem(store: RemoteStore) -> pafs.S3FileSystem:
    import pyarrow.fs as pafs

    if store not in _FILESYSTEMS:
        options: dict[str, Any] = {"region": store.region}
        if store.endpoint:
            scheme, _, host = store.endpoint.partition("://")
            options.update(endpoint_override=host.rstrip("/"), scheme=scheme)
        if store.key_id and store.secret:
            options.update(
                access_key=store.key_id, secret_key=store.secret, session_token=store.token
            )
        options.update(connect_timeout=10, request_timeout=30)
        _FILESYSTEMS[store] = pafs.S3FileSystem(**options)
    return _FILESYSTEMS[store]


def _listing(store: RemoteStore, list_it: Any) -> list[Any]:
    """Run a listing, its failures as one line naming the store (exit 2)."""
    try:
        return list(list_it())
    except OSError as exc:
        raise UsageError(f"store {store.url} cannot be read: {_reason(store, exc)}") from None


def _reason(store: RemoteStore, exc: OSError) -> str:
    text = str(exc)
    if "NO_SUCH_BUCKET" in text or "NoSuchBucket" in text:
        return f"bucket {store.bucket} does not exist"
    if any(
        s in text
        for s in ("ACCESS_DENIED", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch")
    ):
        return (
            "access denied (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN)"
        )
    if "NETWORK_CONNECTION" in text or "Couldn't connect" in text or "curlCode" in text:
        where = store.endpoint or "the S3 endpoint"
        return f"cannot connect to {where} (set AWS_ENDPOINT_URL for an S3-compatible server)"
    first = (text.strip().splitlines() or [""])[0]
    return first.split(" (Request ID")[0] or type(exc).__name__


def scan_remote(store: RemoteStore, since: datetime | None, until: datetime | None) -> pl.LazyFrame:
    """The spans of ``store`` in ``[since, until)`` as a lazy Polars frame, read by Polars'
    object store (day pruning here, row groups by their statistics)."""
    import polars as pl

    from pyflare_cli.schema import POLARS_SCHEMA

    urls = store.span_urls(since, until)
    if not urls:
        return pl.LazyFrame(schema=POLARS_SCHEMA)
    frame = pl.scan_parquet(
        urls,
        glob=False,
        schema=POLARS_SCHEMA,
        extra_columns="ignore",
        storage_options=store.storage_options(),
    )
    if since is not None:
        frame = frame.filter(pl.col("start_time") >= since)
    if until is not None:
        frame = frame.filter(pl.col("start_time") < until)
    return frame
