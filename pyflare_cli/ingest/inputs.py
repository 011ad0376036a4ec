"""The inputs of an ingest: paths expanded into files, standard input spooled to a file, digests.

A source is recorded in the catalog by its sha256, so ingesting the same file twice adds
nothing; standard input is copied to a file first so it can be sniffed, hashed and split
like any other.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

STDIN = "-"


def expand_paths(paths: Iterable[str]) -> list[str]:
    """Files to ingest: folders are walked recursively (hidden entries skipped), sorted."""
    out: list[str] = []
    for item in paths:
        if item == STDIN:
            out.append(STDIN)
            continue
        path = Path(item)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out.extend(str(Path(root) / f) for f in sorted(files) if not f.startswith("."))
        else:
            out.append(item)
    return out


def file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def spool_stdin(stream: BinaryIO, folder: Path) -> Path:
    """Copy standard input to a file, so it can be sniffed, hashed and split like any file."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".stdin-", delete=False) as handle:
        shutil.copyfileobj(stream, handle, 1 << 20)
    return Path(handle.name)
