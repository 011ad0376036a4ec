"""``pyflare bench load`` through Typer, against real local receivers, always hard-bounded.

The command is registered by ``pyflare bench``; here it is mounted on a local app with the
root's error handling (``PyflareGroup``: exit 2 on usage errors, 1 on a breached gate), so
these tests do not depend on the bench group. Runs are capped by ``--requests`` or last a
few seconds of stages; assertions are on counts and structure, and on timing only loosely
(the middle second of a ramp up-hold-down carries more spans than either end).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer
from load_sink import grpc_sink, http_sink
from ports import free_port
from typer.testing import CliRunner, Result

from pyflare_cli.commands.bench_load import add_load_command
from pyflare_cli.main import PyflareGroup
from pyflare_cli.receiver.server import ReceiverConfig

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--batch", "50", "--pool-spans", "300", "--concurrency", "2"]


def make_app() -> typer.Typer:
    app = typer.Typer(cls=PyflareGroup)

    @app.callback()
    def root() -> None:
        """The stand-in for ``pyflare bench``."""

    add_load_command(app)
    return app


APP = make_app()


def load(*args: str) -> Result:
    return CliRunner().invoke(APP, ["load", *args])


def as_json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_help_has_an_example() -> None:
    result = load("--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "Example" in text and "pyflare bench load --stage 10s:1k" in text
    for option in ("--target", "--stage", "--threshold", "--format", "--out", "--allow-remote"):
        assert option in text


def test_json_output_and_out_file_match_what_the_receiver_got(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with http_sink() as (url, sink):
        result = load(
            "--target", f"{url}/v1/traces", "--requests", "20", *SMALL,
            "--format", "json", "--out", str(out),
        )  # fmt: skip
    doc = as_json(result)
    assert doc["sent_requests"] == doc["acked_requests"] == 20 == sink.requests
    assert doc["accepted_spans"] == doc["sent_spans"] == sink.spans == len(sink.ids)
    assert doc["mode"] == "max" and doc["stages"] == [] and doc["per_second_offered"] is None
    assert doc["latency"]["count"] == 20 and doc["passed"] is True
    assert json.loads(out.read_text()) == doc
    assert result.stderr == ""


def test_table_report_with_thresholds_that_hold() -> None:
    with http_sink() as (url, _):
        result = load(
            "--target", url, "--requests", "10", *SMALL,
            "--threshold", "errors<1%", "--threshold", "p99<60s",
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "acknowledged" in result.stdout and "10 requests" in result.stdout
    assert "ack latency (from send)" in result.stdout
    assert "threshold errors<1%" in result.stdout and "threshold p99<60s" in result.stdout
    assert "FAIL" not in result.stdout


def test_markdown_report() -> None:
    with http_sink() as (url, _):
        result = load("--target", url, "--requests", "4", *SMALL, "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("| metric | value |") and "| throughput |" in result.stdout


def test_a_breached_threshold_exits_1_after_the_report(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with http_sink() as (url, _):
        result = load(
            "--target", url, "--requests", "5", *SMALL, "--out", str(out),
            "--threshold", "errors<1%", "--threshold", "p99<1us",
        )  # fmt: skip
    assert result.exit_code == 1
    assert "threshold p99<1us" in result.stdout and "FAIL" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: threshold breached: p99<1us")
    doc = json.loads(out.read_text())
    assert doc["passed"] is False
    assert [v["passed"] for v in doc["verdicts"]] == [True, False]


def test_nothing_listening_warns_and_the_error_gate_fails() -> None:
    target = f"http://127.0.0.1:{free_port()}/v1/traces"
    result = load("--target", target, "--requests", "3", *SMALL, "--threshold", "errors<1%")
    assert result.exit_code == 1
    assert "ConnectError: 3" in result.stdout
    assert "no request was acknowledged" in result.stderr


def test_stages_run_end_to_end_and_follow_the_ramp() -> None:
    # Up to 4k spans/s in 1 s, hold 1 s, down to 0 in 1 s: 2k, 4k and 2k spans offered.
    stages = ["--stage", "1s:4k", "--stage", "1s:4k", "--stage", "1s:0"]
    with http_sink() as (url, sink):
        result = load(
            "--target", url, *stages, "--batch", "50", "--pool-spans", "500",
            "--concurrency", "4", "--format", "json",
        )  # fmt: skip
    doc = as_json(result)
    assert doc["mode"] == "rate" and doc["rate_spans_per_s"] is None
    assert doc["stages"] == [
        {"duration_s": 1.0, "target_rate": 4000.0},
        {"duration_s": 1.0, "target_rate": 4000.0},
        {"duration_s": 1.0, "target_rate": 0.0},
    ]
    assert doc["per_second_offered"][:3] == [2000, 4000, 2000]
    assert doc["duration_s"] >= 3.0
    assert doc["due_requests"] >= 8000 // 50
    assert doc["sent_requests"] + doc["behind_schedule"] == doc["due_requests"]
    assert doc["accepted_spans"] == sink.spans == sum(doc["per_second_spans"])
    assert doc["schedule_lag"] is not None and doc["service_latency"] is not None
    first, middle, last = doc["per_second_spans"][:3]
    assert middle > first and middle > last  # loose: the hold carries twice the ramps


def test_stages_in_the_table_report() -> None:
    with http_sink() as (url, _):
        result = load("--target", url, "--stage", "1s:1k", *SMALL)
    assert result.exit_code == 0, result.stderr
    assert "stages 1s:1k (open model, peak 1,000 spans/s)" in result.stdout
    assert "offered per second" in result.stdout and "behind schedule" in result.stdout


def test_grpc_url_target_uses_grpc() -> None:
    with grpc_sink() as (address, sink):
        result = load("--target", f"grpc://{address}", "--requests", "6", *SMALL, "-f", "json")
    doc = as_json(result)
    assert doc["protocol"] == "grpc" and doc["target"] == address
    assert doc["acked_requests"] == 6 and doc["accepted_spans"] == sink.spans


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration", "inf"], "refusing an unbounded run"),
        (["--duration", "11m"], "at most 600"),
        (["--duration", "0"], "above 0"),
        (["--requests", "0"], "at least 1"),
        (["--stage", "400s:1k", "--stage", "300s:0"], "at most 600"),
        (["--stage", "10s:0"], "nothing would be sent"),
        (["--stage", "0s:1k"], "above 0"),
        (["--stage", "10s"], "DURATION:RATE"),
        (["--stage", "10s:1k", "--duration", "5s"], "the stages set the duration"),
        (["--rate", "1k", "--stage", "10s:1k"], "exclusive"),
        (["--rate", "1k", "--max"], "exclusive"),
        (["--rate", "fast"], "spans/s"),
        (["--target", "http://192.0.2.7:4318/v1/traces"], "--allow-remote"),
        (["--target", "grpc://example.com:4317"], "--allow-remote"),
        (["--target", "grpc://127.0.0.1:4317", "--protocol", "http-json"], "--protocol grpc"),
        (["--target", "ftp://127.0.0.1/"], "http://"),
        (["--threshold", "p99<fast"], "p99<fast"),
        (["--out", "/nonexistent-dir/result.json", "--requests", "1"], "does not exist"),
    ],
)
def test_refusals_exit_2_with_one_line_before_sending(args: list[str], message: str) -> None:
    result = load(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert result.stdout == ""


# -- a real `pyflare receive` ------------------------------------------------------------


def receiver_support() -> ModuleType:
    path = ROOT / "tests" / "receiver" / "receiver_support.py"
    spec = importlib.util.spec_from_file_location("bench_load_receiver_support", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Any]:
    config = ReceiverConfig(
        root=tmp_path / "store",
        http="127.0.0.1:0",
        grpc="127.0.0.1:0",
        flush_interval=0.1,
        workers=1,
    )
    running = receiver_support().Running(config)
    try:
        yield running
    finally:
        running.stop()


def test_against_a_real_pyflare_receiver_over_http_and_grpc(receiver: Any) -> None:
    over_http = as_json(
        load("--target", f"{receiver.http_url}/v1/traces", "--requests", "8", *SMALL, "-f", "json")
    )
    over_grpc = as_json(
        load("--target", f"grpc://{receiver.grpc_target}", "--requests", "8", *SMALL, "-f", "json")
    )
    for doc in (over_http, over_grpc):
        assert doc["acked_requests"] == 8 and doc["failed_requests"] == 0
        assert doc["accepted_spans"] == doc["sent_spans"] > 0
    total = over_http["accepted_spans"] + over_grpc["accepted_spans"]
    assert receiver.stored(at_least=total).height == total
