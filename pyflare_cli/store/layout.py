"""Where things live inside a store folder, and how the folder is chosen.

``<store>`` is ``--store``, else ``$PYFLARE_STORE``, else ``./.pyflare`` (DESIGN.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pyflare_cli.errors import UsageError
from pyflare_cli.store.remote import is_remote, store_url

DEFAULT_STORE = ".pyflare"
STORE_ENV = "PYFLARE_STORE"
PART_PREFIX = "part-"
TEMP_PREFIX = ".tmp-"


def resolve_store(option: str | Path | None) -> Path:
    """The store folder for a command: the option, else the environment, else the default.

    An ``s3://`` store is exit 2 here: only the commands that read spans through
    :func:`read_store` with ``remote=True`` take one (store.remote)."""
    chosen = option or os.environ.get(STORE_ENV) or DEFAULT_STORE
    if is_remote(chosen):
        raise UsageError(
            f"store {store_url(chosen)}: an s3:// store is read-only and only cost, traces, "
            "rca, stats, drift and alert check read one (docs/scale.md)"
        )
    return Path(chosen)


def read_store(option: str | Path | None, remote: bool = False) -> Path:
    """The store a reading command looks at; one that does not exist is exit 2.

    Every command that reads a store (cost, traces, query, drift, rca, alert check, tui)
    resolves it here, so a typo in ``--store`` never reads as an empty store that passes
    a gate. With ``remote``, an ``s3://bucket/prefix`` store is checked (it exists, the
    credentials list it) and its local companion folder returned (store.remote).
    """
    chosen = option or os.environ.get(STORE_ENV)
    if remote and is_remote(chosen):
        from pyflare_cli.store.remote import open_remote

        return open_remote(str(chosen))
    root = resolve_store(option)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise UsageError(f"store {root} {what} (give --store or set {STORE_ENV})")
    return root


@dataclass(frozen=True)
class StoreLayout:
    """Paths of the parts of one store."""

    root: Path

    @property
    def spans(self) -> Path:
        return self.root / "spans"

    @property
    def dead_letter(self) -> Path:
        return self.root / "dead_letter"

    @property
    def catalog(self) -> Path:
        return self.root / "catalog.sqlite"

    def partition(self, day: date) -> Path:
        return self.spans / f"date={day.isoformat()}"

    def dead_letter_partition(self, day: date) -> Path:
        return self.dead_letter / f"date={day.isoformat()}"

    def span_files(self) -> list[Path]:
        """Every visible span file, oldest partition first."""
        if not self.spans.is_dir():
            return []
        return sorted(self.spans.glob(f"date=*/{PART_PREFIX}*.parquet"))

    def partitions(self) -> list[tuple[date, Path]]:
        """(day, folder) of every date partition, oldest first."""
        out = []
        if self.spans.is_dir():
            for folder in sorted(self.spans.glob("date=*")):
                try:
                    out.append((date.fromisoformat(folder.name[5:]), folder))
                except ValueError:
                    continue
        return out
