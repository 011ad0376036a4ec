"""OTLP/gRPC must bound how many exports it holds at once, like OTLP/HTTP.

grpc.aio without ``maximum_concurrent_rpcs`` accepts every RPC: each one holds its
decoded request (up to ``--max-body``) while it waits for the spool, so memory grew with
the number of clients. Over the bound, an RPC must get RESOURCE_EXHAUSTED (retryable).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from receiver_support import Running
from typer.testing import CliRunner

from pyflare_cli.main import app
from pyflare_cli.receiver.server import ReceiverConfig
from pyflare_cli.receiver.validate import Verdict


def test_review_grpc_bounds_exports_in_flight(start_receiver: Callable[..., Running]) -> None:
    running = start_receiver(http=None)

    async def slow(body: bytes) -> Verdict:
        await asyncio.sleep(3)  # a slow disk: every export waits for its fsync
        return Verdict(0, 0)

    running.receiver.intake.accept_proto = slow  # type: ignore[method-assign]

    async def flood() -> list[grpc.StatusCode]:
        # Six connections of 50 RPCs: one connection carries at most 64 at once (the
        # receiver's max_concurrent_streams), the export bound holds across connections.
        channels = [
            grpc.aio.insecure_channel(
                running.grpc_target, options=[("grpc.use_local_subchannel_pool", 1)]
            )
            for _ in range(6)
        ]
        stubs = [trace_service_pb2_grpc.TraceServiceStub(c) for c in channels]  # type: ignore[no-untyped-call]

        async def one(index: int) -> grpc.StatusCode:
            try:
                await stubs[index % 6].Export(ExportTraceServiceRequest(), timeout=20)
            except grpc.aio.AioRpcError as error:
                return error.code()
            return grpc.StatusCode.OK

        try:
            return await asyncio.gather(*(one(i) for i in range(300)))
        finally:
            for channel in channels:
                await channel.close()

    codes = asyncio.run(flood())
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) >= 300 - 256
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}


def test_review_a_taken_grpc_port_is_an_error(
    start_receiver: Callable[..., Running], tmp_path: Path
) -> None:
    # gRPC binds with SO_REUSEPORT by default: a second receiver (another store, say) on
    # the same port started fine and the kernel split the clients between the two.
    first = start_receiver(http=None)
    second = Running(
        ReceiverConfig(root=tmp_path / "other", http=None, grpc=first.grpc_target, workers=1)
    )
    with pytest.raises(OSError, match="bind"):
        second.stop()


def test_review_a_taken_grpc_port_exits_2(tmp_path: Path) -> None:
    # Like a taken HTTP port ("cannot listen", exit 2), not an internal error (exit 3).
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            app,
            ["receive", "--http", "off", "--grpc", f"127.0.0.1:{port}", "--store", str(tmp_path)],
        )
    assert result.exit_code == 2 and "cannot listen" in result.stderr
