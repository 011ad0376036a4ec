"""One spool, one receiver. A second receiver on the same store must not touch it.

Before the fix, a second ``pyflare receive`` on the same store (started by mistake, or a
restart that overlaps the old process) sealed the first one's open segment in
``Spool.recover()``, flushed and deleted it, while the first kept appending, fsyncing and
acknowledging into the deleted file: those acknowledged spans were lost.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from receiver_support import Running

from pyflare_cli.errors import UsageError
from pyflare_cli.receiver.server import ReceiverConfig
from pyflare_cli.receiver.spool import Spool
from pyflare_cli.store.scan import scan_spans

PROTOBUF = {"content-type": "application/x-protobuf"}


def _request(index: int) -> tuple[bytes, str]:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = index.to_bytes(16, "big")
    span.span_id = index.to_bytes(8, "big")
    span.name = f"span {index}"
    span.start_time_unix_nano = 1_700_000_000_000_000_000 + index
    span.end_time_unix_nano = span.start_time_unix_nano + 1_000
    return request.SerializeToString(), span.span_id.hex()


def test_review_a_second_spool_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    first = Spool(tmp_path / "spool")
    with pytest.raises(UsageError, match="another pyflare receive"):
        Spool(tmp_path / "spool")
    first.close()
    Spool(tmp_path / "spool").close()  # free again once the owner has closed it


def test_review_a_second_receiver_does_not_steal_acknowledged_spans(
    start_receiver: Callable[..., Running],
) -> None:
    first = start_receiver(grpc=None, flush_interval=3600)  # everything stays in the spool
    acknowledged: set[str] = set()
    with httpx.Client(base_url=first.http_url) as client:
        for index in range(1, 6):
            body, span_id = _request(index)
            assert client.post("/v1/traces", content=body, headers=PROTOBUF).status_code == 200
            acknowledged.add(span_id)
        # A second receiver on the same store; its HTTP port is taken, so it cannot serve.
        second = ReceiverConfig(
            root=first.root, http=f"127.0.0.1:{first.receiver.http_port}", grpc=None
        )
        with contextlib.suppress(Exception):
            Running(second).stop()
        for index in range(6, 11):
            body, span_id = _request(index)
            assert client.post("/v1/traces", content=body, headers=PROTOBUF).status_code == 200
            acknowledged.add(span_id)
    first.stop()
    stored = set(scan_spans(first.root).collect().get_column("span_id").to_list())
    assert acknowledged <= stored, f"lost {sorted(acknowledged - stored)}"
