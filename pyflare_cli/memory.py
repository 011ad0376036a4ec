"""Give freed memory back to the operating system: the heavy analyses' peak RSS.

The commands that read whole windows (``rca``, ``drift``, ``report``'s sections) build
frames of a few hundred MB and free them as they go, but neither allocator hands the
pages back in time by itself: glibc keeps freed heap (Python objects, NumPy arrays) until
``malloc_trim``, and Polars' jemalloc (which Polars configures with
``dirty_decay_ms:500,muzzy_decay_ms:1000``) turns freed pages "muzzy" (``MADV_FREE``),
which still count in the process's RSS until the kernel is short of memory. Left alone,
the next step's peak lands on top of the last one's leftovers.

:func:`release` collects Python's garbage and trims glibc's heap (under a millisecond);
:func:`configure_jemalloc` asks jemalloc to return freed pages to the system outright,
which must happen before Polars is first imported (a command calls it first thing).
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
from functools import cache

JEMALLOC_CONF = "dirty_decay_ms:250,muzzy_decay_ms:0"
"""Appended by Polars to its own options (the later ones win): freed pages are returned
with ``MADV_DONTNEED`` 250 ms after they are freed, without a muzzy stage. Zero for both
costs about twice the system CPU time (every free becomes an ``madvise``);
docs/benchmarks.md has the figures (issue 22)."""


def configure_jemalloc() -> bool:
    """Set Polars' jemalloc options (``_RJEM_MALLOC_CONF``) unless the user set them or
    Polars is already loaded (jemalloc reads them once, when the library loads); True
    when they were set here."""
    if "_RJEM_MALLOC_CONF" in os.environ or "polars" in sys.modules:
        return False
    os.environ["_RJEM_MALLOC_CONF"] = JEMALLOC_CONF
    return True


@cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has ``malloc_trim``), else None (musl, macOS)."""
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols: libc's on Linux
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return libc


def release() -> None:
    """Collect garbage and return glibc's free heap to the system; nothing else changes."""
    gc.collect()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
