"""Local ports for the receivers a benchmark starts: pyflare's own, or a peer's.

The receive suite and the Rotel peer both start a server on 127.0.0.1 and must know when it
listens; this module sits below both so neither imports the other.
"""

from __future__ import annotations

import socket
import time


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0, what: str = "the receiver") -> None:
    """Return once something accepts connections on 127.0.0.1:``port``; RuntimeError after."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:g} s")
