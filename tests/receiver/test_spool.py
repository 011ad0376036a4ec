"""The write-ahead spool: framing, group commit, sealing, recovery, the bound."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from pyflare_cli.receiver.spool import OPEN_SUFFIX, Spool
from pyflare_cli.sources.opening import Format, sniff
from pyflare_cli.sources.otlp_wire import read_delimited


def test_records_are_framed_as_ingest_reads_them(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=1 << 20, max_bytes=1 << 20)

    async def scenario() -> list[Path]:
        tickets = [spool.append("pb", b"\x0a\x00"), spool.append("pb", b"\x0a\x02\x0a\x00")]
        tickets.append(spool.append("jsonl", b'{"resourceSpans":\n []}'))
        await asyncio.gather(*(spool.sync(t) for t in tickets))
        return await spool.seal()

    sealed = asyncio.run(scenario())
    assert sorted(p.suffix for p in sealed) == [".jsonl", ".pb"]
    pb = next(p for p in sealed if p.suffix == ".pb")
    assert [r.ByteSize() for r in read_delimited(pb.read_bytes())] == [2, 4]
    assert sniff(pb) is Format.OTLP_PROTO_STREAM
    jsonl = next(p for p in sealed if p.suffix == ".jsonl")
    assert jsonl.read_bytes() == b'{"resourceSpans":  []}\n'  # one document per line
    assert spool.sealed() == sorted(sealed)


def test_group_commit_syncs_once_for_concurrent_requests(
    tmp_path: Path, monkeypatch: object
) -> None:
    import pyflare_cli.receiver.spool as module

    calls: list[int] = []
    real = module._flush_and_sync

    def counting(handles: list[object]) -> None:
        calls.append(len(handles))
        real(handles)  # type: ignore[arg-type]

    module._flush_and_sync = counting  # type: ignore[assignment]
    try:
        spool = Spool(tmp_path)

        async def scenario() -> None:
            tickets = [spool.append("pb", b"\x0a\x00") for _ in range(50)]
            await asyncio.gather(*(spool.sync(t) for t in tickets))
            await spool.sync(tickets[-1])  # already durable: no second fsync

        asyncio.run(scenario())
    finally:
        module._flush_and_sync = real
    assert len(calls) == 1


def test_recover_seals_open_segments_and_counts_them(tmp_path: Path) -> None:
    (tmp_path / f"000000000003-99.pb{OPEN_SUFFIX}").write_bytes(b"\x02\x0a\x00")
    (tmp_path / "000000000002-99.jsonl").write_bytes(b"{}\n")
    spool = Spool(tmp_path, max_bytes=5)
    sealed = spool.recover()
    assert [p.name for p in sealed] == ["000000000002-99.jsonl", "000000000003-99.pb"]
    assert spool.unflushed == 6 and spool.full()
    assert spool.append("pb", b"") and spool._seq == 4  # numbering continues after the crash
    spool.close()


def test_due_by_size_and_age(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=10)
    assert not spool.due(max_age=0)
    spool.append("pb", b"\x0a\x00")
    assert spool.due(max_age=0) and not spool.due(max_age=3600)
    spool.append("pb", b"x" * 20)
    assert spool.due(max_age=3600)
    asyncio.run(spool.seal())
    assert not spool.due(max_age=0)
    assert not any(p.name.endswith(OPEN_SUFFIX) for p in tmp_path.iterdir())
    assert os.listdir(tmp_path)


def test_an_unreadable_segment_becomes_a_dead_letter_and_frees_the_spool(tmp_path: Path) -> None:
    import threading

    from pyflare_cli.receiver.flusher import Flusher, FlushResult

    store = tmp_path / "store"
    segment = tmp_path / "000000000001-1.pb"
    segment.write_bytes(b"\x7f\x0a")  # a torn record: the length says 127 bytes, 1 follows
    results: list[FlushResult] = []
    done = threading.Event()

    def collect(result: FlushResult) -> None:
        results.append(result)
        done.set()

    flusher = Flusher(store, collect, workers=1)
    flusher.submit(segment)
    assert done.wait(30)
    flusher.drain_and_stop()
    (result,) = results
    assert result.error and result.removed and not segment.exists()
    moved = sorted((store / "dead_letter").rglob("spool-*"))
    assert [p.name.startswith("spool-000000000001-1-") for p in moved] == [True, True]
    assert [p.suffix for p in moved] == [".pb", ".reason"]
    assert "truncated" in moved[1].read_text()


def test_a_failed_write_is_cut_off_and_later_records_stay_framed(
    tmp_path: Path, monkeypatch: object
) -> None:
    import pyflare_cli.receiver.spool as module

    spool = Spool(tmp_path)
    spool.append("pb", b"\x0a\x00")
    real = module._write_all

    def half_then_fail(handle: object, data: bytes) -> None:
        handle.write(data[: len(data) // 2])  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    module._write_all = half_then_fail  # type: ignore[assignment]
    try:
        try:
            spool.append("pb", b"\x0a\x02\x0a\x00" * 100)
        except OSError:
            pass
        else:
            raise AssertionError("the write error must reach the caller")
    finally:
        module._write_all = real
    spool.append("pb", b"\x0a\x00")
    (sealed,) = asyncio.run(spool.seal())
    assert [r.ByteSize() for r in read_delimited(sealed.read_bytes())] == [2, 2]


def test_a_failed_fsync_retires_the_segment(tmp_path: Path) -> None:
    import pyflare_cli.receiver.spool as module

    spool = Spool(tmp_path)
    ticket = spool.append("pb", b"\x0a\x00")
    real = module._flush_and_sync

    def failing(handles: list[object]) -> None:
        raise OSError(5, "Input/output error")

    module._flush_and_sync = failing  # type: ignore[assignment]
    try:
        try:
            asyncio.run(spool.sync(ticket))
        except OSError:
            pass
        else:
            raise AssertionError("the fsync error must reach the caller")
    finally:
        module._flush_and_sync = real
    assert [p.suffix for p in spool.sealed()] == [".pb"]  # never written to again
    spool.append("pb", b"\x0a\x00")
    assert len(list(tmp_path.glob(f"*{OPEN_SUFFIX}"))) == 1


def test_every_request_not_fsynced_fails_after_a_failed_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After EIO, the first request got 503 and the next one in the same segment got 200:
    # its sync() found the segment retired and fsynced only the new, empty ones.
    import pyflare_cli.receiver.spool as module

    real = module._flush_and_sync
    calls = []

    def fail_once(handles: list[object]) -> None:
        calls.append(len(handles))
        if len(calls) == 1:
            raise OSError(5, "Input/output error")
        real(handles)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "_flush_and_sync", fail_once)

    async def scenario() -> list[str]:
        spool = Spool(tmp_path)
        first = spool.append("pb", b"\x0a\x00")
        second = spool.append("pb", b"\x0a\x00")
        answers = await asyncio.gather(
            spool.sync(first), spool.sync(second), return_exceptions=True
        )
        later = spool.append("pb", b"\x0a\x00")  # a new segment: fsynced for real
        answers.append(await spool.sync(later))
        spool.close()
        return [type(a).__name__ for a in answers]

    assert asyncio.run(scenario()) == ["OSError", "OSError", "NoneType"]


def test_a_failed_fsync_while_sealing_fails_the_waiting_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyflare_cli.receiver.spool as module

    def failing(handles: list[object]) -> None:
        raise OSError(5, "Input/output error")

    async def scenario() -> tuple[list[Path], str]:
        spool = Spool(tmp_path)
        ticket = spool.append("pb", b"\x0a\x00")
        monkeypatch.setattr(module, "_flush_and_sync", failing)
        sealed = await spool.seal()  # the tick must survive it; the segment still goes on
        try:
            await spool.sync(ticket)
        except OSError as exc:
            return sealed, str(exc)
        finally:
            spool.close()
        return sealed, "acknowledged"

    sealed, answer = asyncio.run(scenario())
    assert [p.suffix for p in sealed] == [".pb"]
    assert "fsync" in answer
