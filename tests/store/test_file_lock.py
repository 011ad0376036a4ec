"""The one file lock: exclusive between holders, released on errors and when its holder dies."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pyflare_cli.store.lock import LOCK_NAME, file_lock, process_alive, store_lock

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def probe(path: Path) -> Iterator[bool]:
    """Whether another holder could take the lock on ``path`` right now (without waiting)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        fcntl.flock(fd, fcntl.LOCK_UN)
        yield True
    finally:
        os.close(fd)


def free(path: Path) -> bool:
    with probe(path) as got:
        return got


def test_makes_the_folder_and_the_file_and_leaves_them(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "x.lock"
    with file_lock(path):
        assert path.is_file()
    assert path.is_file()
    assert path.stat().st_mode & 0o777 == 0o644 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_held_lock_excludes_others_until_released(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with file_lock(path):
        assert not free(path)
    assert free(path)


def test_a_waiting_holder_gets_the_lock_once_it_is_released(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    order: list[str] = []
    got = threading.Event()

    def second() -> None:
        with file_lock(path):
            order.append("second")
            got.set()

    with file_lock(path):
        waiter = threading.Thread(target=second)
        waiter.start()
        order.append("first")
        assert not got.is_set()
    waiter.join(timeout=30)
    assert got.is_set()
    assert order == ["first", "second"]


def test_released_when_the_body_raises(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with pytest.raises(RuntimeError), file_lock(path):
        raise RuntimeError("boom")
    assert free(path)


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from pyflare_cli.store.lock import file_lock\n"
        "with file_lock(Path(sys.argv[1])):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(600)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert not free(path)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert free(path)


def test_an_unmakeable_folder_raises_before_anything_is_held(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError), file_lock(blocker / "x.lock"):
        pytest.fail("the body must not run")  # pragma: no cover


def test_store_lock_is_the_file_lock_of_the_stores_lock_file(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with store_lock(root):
        assert (root / LOCK_NAME).is_file()
        assert not free(root / LOCK_NAME)
    assert free(root / LOCK_NAME)


def test_process_alive() -> None:
    assert process_alive(os.getpid())
    assert not process_alive(0)
    assert not process_alive(-1)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_alive(child.pid)
