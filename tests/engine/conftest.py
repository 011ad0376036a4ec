"""Real engines for the engine tests: a 20k-span demo store, a chdb ``otel_traces`` table
filled from it, and (tests marked ``spark``) a Spark Connect server on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "commands"))
from cli_support import invoke
from otel_fill import fill_otel_traces
from ports import free_port, listening

SPARK_START_TIMEOUT = 300.0


@pytest.fixture(scope="session")
def store20k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten days of demo traffic, 20,000 spans."""
    root = tmp_path_factory.mktemp("engines") / "store"
    result = invoke("demo", "--spans", "20000", "--days", "10", "--store", str(root))
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="session")
def otel_session(store20k: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A chdb session folder whose ``otel_traces`` holds every span of ``store20k``."""
    folder = tmp_path_factory.mktemp("chdb") / "session"
    assert fill_otel_traces(store20k, folder) > 19_000
    return folder


@pytest.fixture(scope="session")
def spark_connect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``sc://127.0.0.1:PORT`` of a real Spark Connect server (``--master local[2]``),
    started with PySpark's own sbin/start-connect-server.sh in the foreground and
    stopped (its process group) at the end of the session."""
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip(
            "SPARK ENGINE NOT TESTED: PySpark is not installed "
            "(pip install -e '.[spark]'; .ci/run installs it and runs -m spark)"
        )
    if shutil.which("java") is None:
        pytest.skip("SPARK ENGINE NOT TESTED: no java on PATH (.ci/run installs Java 17)")
    import pyspark

    home = Path(pyspark.__file__).parent
    logs = tmp_path_factory.mktemp("spark")
    port = free_port()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(logs)}
    env["SPARK_PID_DIR"] = str(logs)
    command = [
        str(home / "sbin" / "start-connect-server.sh"),
        "--wait",
        "--master",
        "local[2]",
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        "--conf",
        "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.sql.shuffle.partitions=4",
        "--driver-memory",
        "1g",
    ]
    with open(logs / "server.log", "wb") as log:
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + SPARK_START_TIMEOUT
        while not listening(port):
            if server.poll() is not None:
                text = (logs / "server.log").read_text(errors="replace")[-3000:]
                pytest.fail(f"Spark Connect server exited ({server.returncode}):\n{text}")
            if time.monotonic() > deadline:
                pytest.fail(f"Spark Connect server not listening on {port} after 300 s")
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
