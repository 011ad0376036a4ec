"""``pyflare drift --engine``: the calls come from the engine, the statistics run here; the
report equals Polars' (the JSON byte for byte) on DuckDB, chdb and Spark Connect, with and
without ``--sample-rate`` (a sample every engine draws alike) and ``--where``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from cli_support import invoke
from polars.testing import assert_frame_equal

from pyflare_cli.engine.base import SqlEngine
from pyflare_cli.engine.clickhouse_engine import ChdbRunner, ClickHouseEngine, ClickHouseSource
from pyflare_cli.engine.drift import drift_sample
from pyflare_cli.engine.duckdb_engine import DuckDBEngine
from pyflare_cli.query.drift_samples import BASELINE_COLUMNS, model_sample
from pyflare_cli.query.windows import Window

WINDOW = Window(datetime(2026, 11, 14, tzinfo=UTC), datetime(2026, 11, 20, 12, tzinfo=UTC))
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
CASES = {
    "one model": ["--model", "gpt-4o-mini", "--since", "2d", "--reference-days", "4"],
    "every model, a sample, where": [
        *("--all-models", "--since", "2d", "--reference-days", "4", "--sample-rate", "0.5"),
        *("--where", "service:chat-gateway"),
    ],
    "embeddings, a reference range": [
        *("--all-models", "--since", "2d", "--reference", "2026-11-11..2026-11-17"),
        *("--sample-rate", "0.8"),
    ],
}


_POLARS: dict[tuple[str, ...], str] = {}


def polars_report(store: Path, args: list[str]) -> str:
    """The reference report (each case's once)."""
    key = (str(store), *args)
    if key not in _POLARS:
        _POLARS[key] = report(store, args)
    return _POLARS[key]


def report(store: Path, args: list[str], *engine: str) -> str:
    result = invoke("drift", *args, "--format", "json", "--store", str(store), *engine)
    assert result.exit_code in (0, 1), result.output + result.stderr
    return result.stdout


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
def test_drift_on_an_engine_is_polars_drift(store20k: Path, engine: str, case: str) -> None:
    want = polars_report(store20k, CASES[case])
    assert ('"n_current"' in want and '"method": "mmd"' in want) or case == "one model"
    assert report(store20k, CASES[case], "--engine", engine) == want


@pytest.mark.spark
@pytest.mark.parametrize("case", sorted(CASES))
def test_drift_on_spark_connect(store20k: Path, spark_connect: str, case: str) -> None:
    on_spark = ("--engine", "spark", "--spark-master", spark_connect)
    assert report(store20k, CASES[case], *on_spark) == polars_report(store20k, CASES[case])


@pytest.fixture(params=["duckdb", "chdb"])
def engine(request: pytest.FixtureRequest, store20k: Path) -> Iterator[SqlEngine]:
    made: SqlEngine
    if request.param == "duckdb":
        made = DuckDBEngine(store20k)
    else:
        made = ClickHouseEngine(ChdbRunner(), ClickHouseSource(root=store20k))
    yield made
    made.close()


@pytest.mark.parametrize("rate", [1.0, 0.3, 0.01])
def test_the_sample_is_the_same_calls_everywhere(
    store20k: Path, engine: SqlEngine, rate: float
) -> None:
    want = model_sample(store20k, WINDOW, None, NOW, (), None, rate).collect()
    want = want.select(BASELINE_COLUMNS)
    every = model_sample(store20k, WINDOW, None, NOW, (), None).collect().height
    assert want.height > 0
    # span ids are random: the share kept is the rate, within 5 standard deviations
    assert abs(want.height - rate * every) <= 5 * (every * rate * (1 - rate)) ** 0.5 + 1
    got = drift_sample(engine, WINDOW, None, NOW, (), None, rate).collect()
    if engine.dialect.name == "clickhouse":  # a missing map is an empty one there
        got = got.with_columns(pl.col("attributes").fill_null(pl.lit({}, want["attributes"].dtype)))
        want = want.with_columns(
            pl.col("attributes").fill_null(pl.lit({}, want["attributes"].dtype))
        )
    assert_frame_equal(got.drop("attributes"), want.drop("attributes"), rel_tol=1e-12)
    assert got["attributes"].to_list() == want["attributes"].to_list()


def test_a_smaller_rate_keeps_a_subset(store20k: Path) -> None:
    small = model_sample(store20k, WINDOW, None, NOW, (), None, 0.1).collect()
    large = model_sample(store20k, WINDOW, None, NOW, (), None, 0.4).collect()
    assert 0 < small.height < large.height
    assert small.join(large, on=["trace_id", "start_time"], how="anti").height == 0


@pytest.mark.parametrize("rate", ["0", "1.5", "-1"])
def test_a_bad_rate_is_exit_2(store20k: Path, rate: str) -> None:
    result = invoke(
        "drift", "--model", "gpt-4o-mini", "--sample-rate", rate, "--store", str(store20k)
    )
    assert result.exit_code == 2 and "--sample-rate" in result.stderr


def test_engine_from_the_environment_and_refusals(store20k: Path, otel_session: Path) -> None:
    args = ["drift", "--model", "gpt-4o-mini", "--since", "2d", "--store", str(store20k)]
    result = invoke(*args, env={"PYFLARE_ENGINE": "duckdb"})
    assert result.exit_code == 0, result.stderr
    history = invoke("drift", "history", "--model", "gpt-4o-mini", env={"PYFLARE_ENGINE": "duckdb"})
    assert history.exit_code == 2 and "drift history" in history.stderr
    url = f"chdb://{otel_session}?table=otel_traces"
    over = invoke("drift", "--model", "gpt-4o-mini", "--store", url)
    assert over.exit_code == 2 and "otel_traces" in over.stderr
    assert len(over.stderr.strip().splitlines()) == 1
