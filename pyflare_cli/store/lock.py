"""File locks: the one exclusive lock every read-change-write holds, and the store-wide lock.

:func:`file_lock` serialises processes on a lock file: the store's commits, the alert
state, the silences and the notification outbox each hold it on their own file. It is
an ``flock``, which the kernel releases when its holder exits or dies, so a crashed
process never leaves a stale lock behind, and there is no pid in it to check.

:func:`store_lock` is that lock on the store's ``.lock``, held for the short moments that
change what is visible. Commits, recovery, compaction, pruning and the demo's replacement
each hold it while they rename, delete or record files, so two processes (an ingest and a
receiver, say) never see each other half-way. Writing temporary parts needs no lock: they
are private to the process that owns them, whose pid is in their name
(``.tmp-<pid>-<uuid>.parquet``); :func:`process_alive` tells whether that owner still runs.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

LOCK_NAME = ".lock"


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (blocks until it is free).

    The file and its folder are made if missing; the file is left in place afterwards.
    OSError from making or opening it reaches the caller, before anything is held.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def store_lock(root: Path) -> AbstractContextManager[None]:
    """Hold the exclusive lock of the store at ``root`` (blocks until it is free)."""
    return file_lock(root / LOCK_NAME)


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
