"""Choosing an engine: --engine, $PYFLARE_ENGINE, engine: in pyflare.yaml, ClickHouse URLs;
and what an engine cannot run yet exits 2 naming it, rather than load spans locally."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from cli_support import invoke

COST = ["cost", "--by", "model", "--since", "10d"]


def error_of(*args: str, env: dict[str, str] | None = None) -> str:
    result = invoke(*args, env=env)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_unknown_engine_is_named(store20k: Path) -> None:
    assert "--engine 'dask'" in error_of(*COST, "--store", str(store20k), "--engine", "dask")
    line = error_of(*COST, "--store", str(store20k), env={"PYFLARE_ENGINE": "dask"})
    assert "$PYFLARE_ENGINE 'dask'" in line


def test_engine_in_the_config(store20k: Path, tmp_path: Path) -> None:
    config = tmp_path / "pyflare.yaml"
    config.write_text("engine: dask\n")
    line = error_of(*COST, "--store", str(store20k), "--config", str(config))
    assert str(config) in line and "dask" in line
    # A configured engine is used: DuckDB refuses an eval. term, naming itself.
    config.write_text("engine:\n  name: duckdb\n")
    line = error_of(
        *COST, "--store", str(store20k), "--config", str(config), "--where", "eval.judge:<0.5"
    )
    assert "--where term 'eval.judge'" in line and "does not run on --engine duckdb" in line
    # --engine wins over the config.
    result = invoke(*COST, "--store", str(store20k), "--config", str(config), "--engine", "polars")
    assert result.exit_code == 0, result.output
    config.write_text("engine:\n  name: duckdb\n  threads: 4\n")
    assert "engine.threads" in error_of(*COST, "--store", str(store20k), "--config", str(config))


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
@pytest.mark.parametrize(
    ("option", "named"),
    [
        (
            ["--where", "eval.judge:<0.5"],
            "--where term 'eval.judge' (evaluation scores are not on the engine)",
        ),
    ],
)
def test_what_an_engine_cannot_run_is_exit_2(
    store20k: Path, engine: str, option: list[str], named: str
) -> None:
    line = error_of("cost", *option, "--store", str(store20k), "--engine", engine)
    assert f"{named} does not run on --engine {engine}" in line


def test_forecast_by_agent_is_refused(store20k: Path) -> None:
    line = error_of(
        *("cost", "forecast", "--by", "agent", "--store", str(store20k), "--engine", "duckdb")
    )
    assert "cost forecast --by agent does not run on --engine duckdb" in line


def test_top_with_an_eval_term_is_refused(store20k: Path) -> None:
    line = error_of(
        "cost", "top", "-w", "eval.judge:<0.5", "--store", str(store20k), "--engine", "duckdb"
    )
    assert "--where term 'eval.judge'" in line


def test_commands_off_the_seam_refuse_an_engine_from_the_environment(store20k: Path) -> None:
    env = {"PYFLARE_ENGINE": "spark"}
    assert "pyflare sessions does not run on $PYFLARE_ENGINE=spark" in error_of(
        "sessions", "--store", str(store20k), env=env
    )
    assert "pyflare cost check does not run" in error_of(
        "cost", "check", "--max-total", "5", "--store", str(store20k), env=env
    )
    assert invoke("sessions", "--help", env=env).exit_code == 0
    assert (
        invoke(
            "traces", "-n", "1", "--store", str(store20k), env={"PYFLARE_ENGINE": "polars"}
        ).exit_code
        == 0
    )


def test_clickhouse_urls(store20k: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"clickhouse://127.0.0.1:{port}/default?table=otel_traces"
    assert "cannot connect" in error_of(*COST, "--store", url)
    assert "is a ClickHouse store" in error_of(*COST, "--store", url, "--engine", "duckdb")
    missing = tmp_path / "nope"
    assert "does not exist" in error_of(*COST, "--store", f"chdb://{missing}?table=otel_traces")
    assert "table=" in error_of(*COST, "--store", f"chdb://{tmp_path}?table=a;b")


def test_a_bad_spark_master_is_refused_before_spark_starts(store20k: Path) -> None:
    line = error_of(
        *COST, "--store", str(store20k), "--engine", "spark", "--spark-master", "mesos://x"
    )
    assert "--spark-master 'mesos://x'" in line


def test_a_clickhouse_store_wins_over_the_configured_engine(
    otel_session: Path, tmp_path: Path
) -> None:
    config = tmp_path / "pyflare.yaml"
    config.write_text("engine: duckdb\n")
    store = f"chdb://{otel_session}?table=otel_traces"
    result = invoke(*COST, "--store", store, "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "gpt-4o-mini" in result.stdout
