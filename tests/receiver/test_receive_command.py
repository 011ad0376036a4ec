"""``pyflare receive`` options: what is refused before anything listens."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pyflare_cli.commands.receive import parse_size
from pyflare_cli.errors import UsageError
from pyflare_cli.main import app


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["receive", *args])
    return result.exit_code, result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--http", "off", "--grpc", "off"], "both off"),
        (["--http", "localhost:http"], "--http: bad address"),
        (["--tls-cert", "cert.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-cert", "nope.pem", "--tls-key", "nope.key"], "nope.pem does not exist"),
        (["--max-body", "lots"], "--max-body 'lots' is not a size"),
    ],
)
def test_bad_options_exit_2_with_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    code, err = _run(*args, "--store", str(tmp_path))
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_port_in_use_is_a_usage_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, err = _run("--http", f"127.0.0.1:{port}", "--grpc", "off", "--store", str(tmp_path))
    assert code == 2 and "cannot listen" in err


def test_sizes() -> None:
    assert parse_size("16MiB", "x") == 16 << 20
    assert parse_size("512k", "x") == 512 << 10
    assert parse_size("1.5g", "x") == int(1.5 * (1 << 30))
    assert parse_size("1000", "x") == 1000
    with pytest.raises(UsageError):
        parse_size("-", "x")


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--api-key", ""], {}), (["--api-key", "  "], {}), ([], {"PYFLARE_API_KEY": ""})],
    ids=["option", "blank", "environment"],
)
def test_an_empty_api_key_is_refused(args: list[str], env: dict[str, str], tmp_path: Path) -> None:
    # PYFLARE_API_KEY="" turned authentication off without a word.
    result = CliRunner().invoke(app, ["receive", *args, "--store", str(tmp_path)], env=env)
    assert result.exit_code == 2
    assert "empty" in result.stderr and result.stderr.count("\n") == 1


def _serve(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Start ``pyflare receive`` on a free port, wait for /healthz, stop it: (port, stderr)."""
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pyflare_cli",
            "receive",
            "--store",
            str(tmp_path / "s"),
            "--grpc",
            "off",
            "--http",
            f"0.0.0.0:{port}",
            *args,
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    return port, err.decode()


def test_a_non_loopback_address_without_a_key_is_warned_about(tmp_path: Path) -> None:
    _, err = _serve(tmp_path)
    assert "warning: 0.0.0.0:" in err and "--api-key" in err
    _, err = _serve(tmp_path, "--api-key", "k")
    assert "warning" not in err
