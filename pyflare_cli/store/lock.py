"""A store-wide lock for the short moments that change what is visible.

Commits, recovery, compaction, pruning and the demo's replacement each hold it while they
rename, delete or record files, so two processes (an ingest and a receiver, say) never
see each other half-way. Writing temporary parts needs no lock: they are private to the
process that owns them, whose pid is in their name (``.tmp-<pid>-<uuid>.parquet``).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".lock"


@contextmanager
def store_lock(root: Path) -> Iterator[None]:
    """Hold the exclusive lock of the store at ``root`` (blocks until it is free)."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (the owner of temporary parts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
