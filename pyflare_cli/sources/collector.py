"""The OTel Collector file exporter's length-prefixed layouts.

The exporter (``exporter/fileexporter``, ``exportMessageAsBuffer``) writes each message
after a 4-byte big-endian length when ``format: proto``, and also when ``format: json``
with ``compression: zstd`` (each message then being one zstd frame of OTLP/JSON). With
the native-compression feature gate the whole file is one zstd stream instead (opened
transparently by :func:`~pyflare_cli.sources.opening.open_binary`), and ``format: proto``
inside it keeps the 4-byte prefixes. Every message is a ``TracesData``, which is wire
compatible with ``ExportTraceServiceRequest``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import IO

import zstandard

PREFIX_BYTES = 4
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_PAYLOAD_STARTS = (b"\x0a", ZSTD_MAGIC, b"{")
"""A message is a protobuf TracesData (field 1), a zstd frame, or an OTLP/JSON object."""


class Truncated(Exception):
    """The input ends inside a message: (index, offset, got, wanted)."""

    def __init__(self, index: int, offset: int, got: int, wanted: int) -> None:
        super().__init__(f"message {index} at byte {offset} is truncated: {got} of {wanted} bytes")


def _message_starts(head: bytes) -> bool:
    # The top byte of a real prefix is 0 (a message under 16 MiB). That also tells it from
    # protobuf's varint framing, whose first byte is never 0 (an empty request) and whose
    # 4-byte varints (0x80 and up) can be followed by a request's 0x0a, too.
    length = int.from_bytes(head[:PREFIX_BYTES], "big")
    return head[0] == 0 and length > 0 and head[PREFIX_BYTES:].startswith(_PAYLOAD_STARTS)


def looks_framed(head: bytes, whole: bool) -> bool:
    """Whether ``head`` starts like the exporter's length-prefixed layout.

    The first message must fit in a whole file; when a second one starts within ``head``
    it must start like a message too. A cut last message is the decoder's to report.
    """
    if len(head) < PREFIX_BYTES + 1 or not _message_starts(head):
        return False
    end = PREFIX_BYTES + int.from_bytes(head[:PREFIX_BYTES], "big")
    if end > len(head):
        return not whole
    rest = head[end:]
    return len(rest) < PREFIX_BYTES + 1 or _message_starts(rest)


def frames(stream: IO[bytes], ranged: bool) -> Iterator[tuple[str, int, bytes | None, int, int]]:
    """(position, payload offset, payload or None when ``ranged``, length) of each message.

    With ``ranged`` the stream is a plain file whose payloads are skipped, not read, so a
    worker process can read them itself. Raises :class:`Truncated` at a cut message.
    The last field is the message's decompressed size where its zstd header says it.
    """
    end = os.fstat(stream.fileno()).st_size if ranged else None
    index, offset = 0, 0
    while True:
        prefix = stream.read(PREFIX_BYTES)
        if not prefix:
            return
        if len(prefix) < PREFIX_BYTES:
            raise Truncated(index, offset, len(prefix), PREFIX_BYTES)
        length = int.from_bytes(prefix, "big")
        body = offset + PREFIX_BYTES
        if end is not None:
            got = min(length, end - body)
            header = stream.read(min(got, _ZSTD_HEADER_BYTES))
            stream.seek(got - len(header), os.SEEK_CUR)
            payload = None
        else:
            payload = stream.read(length)
            got = len(payload)
            header = payload[:_ZSTD_HEADER_BYTES]
        if got != length:
            raise Truncated(index, offset, got, length)
        yield f"message {index} (byte {offset})", body, payload, length, _weight(header, length)
        offset = body + length
        index += 1


_ZSTD_HEADER_BYTES = 18
"""The longest zstd frame header: enough to read the frame's content size."""


def _weight(header: bytes, length: int) -> int:
    """What a message costs to decode: its decompressed size when it is a zstd frame."""
    if not header.startswith(ZSTD_MAGIC):
        return length
    try:
        size = zstandard.frame_content_size(header)
    except zstandard.ZstdError:
        return length
    return size if size > 0 else length * 10  # unknown size: assume a typical ratio


def unframe(payload: bytes) -> tuple[bool, bytes]:
    """(is JSON, content) of one message, decompressing a zstd frame."""
    if payload.startswith(ZSTD_MAGIC):
        reader = zstandard.ZstdDecompressor().stream_reader(payload, read_across_frames=True)
        with reader:
            payload = reader.read()
    return payload.lstrip()[:1] == b"{", payload
