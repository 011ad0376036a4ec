"""Find damage in a store: Parquet parts that cannot be read, and a catalog that cannot be opened.

A part cut short (a full disk, a copy that stopped) or garbled made every reader fail with
Polars' ``ComputeError`` naming no file. Two depths of checking:

- :func:`require_readable_parts` reads each part's footer (its metadata), once per file
  version per process: cheap enough for every scan, and it names the damaged file;
- :func:`check_store` (``pyflare store check``) also decodes every row group and looks at
  the catalog, so that damage inside a part is found too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pyflare_cli.errors import DamagedStore, UsageError
from pyflare_cli.store.layout import TEMP_PREFIX, StoreLayout

QUARANTINE = "quarantine"
"""Folder of a store where ``pyflare store repair`` moves what it cannot read."""
_FOOTERS: dict[tuple[str, int, int], str | None] = {}
"""Footer check results by (path, size, mtime_ns): a part is never rewritten in place."""


@dataclass
class Damage:
    """One unreadable file and why."""

    path: Path
    reason: str
    kind: str  # part | catalog


@dataclass
class StoreCheck:
    """What ``pyflare store check`` found."""

    root: Path
    parts: int = 0
    rows: int = 0
    damage: list[Damage] = field(default_factory=list)
    stray_temporary: list[Path] = field(default_factory=list)
    """Temporary parts whose writer is gone (``recover`` deletes them at the next ingest)."""
    catalog_sources: int | None = None

    @property
    def ok(self) -> bool:
        return not self.damage


def footer_problem(path: Path) -> str | None:
    """Why the footer (metadata) of the Parquet file ``path`` cannot be read, or None."""
    try:
        stat = path.stat()
    except OSError as exc:
        return exc.strerror or str(exc)
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _FOOTERS:
        try:
            # Polars parses the footer without PyArrow, which every scan would otherwise import;
            # an open file, because Polars reads a path as a glob (``[`` in a folder name).
            with path.open("rb") as handle:
                pl.read_parquet_schema(handle)
        except Exception as exc:  # ComputeError, OSError, a Rust panic on garbled thrift ...
            _FOOTERS[key] = _reason(exc)
        else:
            _FOOTERS[key] = None
    return _FOOTERS[key]


def require_readable_parts(files: Iterable[Path]) -> None:
    """Raise :class:`DamagedStore` naming the first part whose footer cannot be read."""
    for path in files:
        problem = footer_problem(path)
        if problem is not None:
            raise DamagedStore(damaged_part_message(path, problem))


def damaged_part_message(path: Path, problem: str) -> str:
    store = path.parent.parent.parent
    return (
        f"{path}: damaged Parquet part ({problem}); "
        f"run `pyflare store check --store {store}`, then `pyflare store repair --store {store}`"
    )


def locate_damage(parts: Iterable[Path], error: BaseException) -> DamagedStore | BaseException:
    """After reading ``parts`` failed with ``error``: the damaged part named, when one is."""
    for path in parts:
        problem, _ = part_problem(path)
        if problem is not None:
            return DamagedStore(damaged_part_message(path, problem))
    return error


def part_problem(path: Path) -> tuple[str | None, int]:
    """Why the part ``path`` cannot be read in full (footer and every row group), and its rows."""
    problem = footer_problem(path)
    if problem is not None:
        return problem, 0
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        rows = 0
        for index in range(parquet.num_row_groups):
            rows += parquet.read_row_group(index).num_rows
    except Exception as exc:
        return _reason(exc), 0
    return None, rows


def catalog_problem(path: Path) -> tuple[str | None, int | None]:
    """Why the catalog cannot be used (and how many sources it lists when it can)."""
    if not path.exists():
        return None, None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        return _reason(exc), None
    try:
        verdict = db.execute("PRAGMA integrity_check").fetchone()
        if not verdict or verdict[0] != "ok":
            return f"integrity check: {verdict[0] if verdict else 'no answer'}", None
        count = db.execute("SELECT count(*) FROM sources").fetchone()[0]
        db.execute("SELECT sha256, path, size, rows, state, files FROM sources").fetchall()
    except sqlite3.Error as exc:
        return _reason(exc), None
    finally:
        db.close()
    return None, int(count)


def check_store(root: Path, progress: Callable[[Path], None] | None = None) -> StoreCheck:
    """Read every part in full and open the catalog; report what is damaged."""
    layout = StoreLayout(root)
    if not root.is_dir():
        raise UsageError(f"{root}: no store here")
    result = StoreCheck(root)
    for path in layout.span_files():
        if progress is not None:
            progress(path)
        result.parts += 1
        problem, rows = part_problem(path)
        result.rows += rows
        if problem is not None:
            result.damage.append(Damage(path, problem, "part"))
    problem, sources = catalog_problem(layout.catalog)
    result.catalog_sources = sources
    if problem is not None:
        result.damage.append(Damage(layout.catalog, problem, "catalog"))
    if layout.spans.is_dir():
        from pyflare_cli.store.lock import process_alive
        from pyflare_cli.store.writer import temp_owner

        result.stray_temporary = sorted(
            p
            for p in layout.spans.glob(f"date=*/{TEMP_PREFIX}*.parquet")
            if not process_alive(temp_owner(p))
        )
    return result


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
