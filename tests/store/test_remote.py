"""``--store s3://bucket/prefix`` against a real S3-compatible server on 127.0.0.1 (moto's
standalone server in a subprocess, IAM authentication on): the reading commands give the
same answer as on the same store folder, on Polars and DuckDB; writing commands, the other
engines, a missing bucket or prefix and refused credentials are exit 2 with one line
naming the store."""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "commands"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_support import ROOT, invoke
from s3_support import S3Server, s3_server

pytest.importorskip("moto", reason="S3 STORE NOT TESTED: pip install -e '.[test]' (moto[server])")

BUCKET = "pyflare-test"
PREFIX = "stores/demo"
URL = f"s3://{BUCKET}/{PREFIX}"


@pytest.fixture(scope="module")
def local_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("s3store") / "store"
    result = invoke("demo", "--spans", "4000", "--days", "4", "--store", str(root))
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def server(local_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with s3_server(tmp_path_factory.mktemp("moto")) as running:
        assert running.upload(local_store, BUCKET, PREFIX) > 3
        yield running


@pytest.fixture
def env(server: S3Server, tmp_path: Path) -> dict[str, str]:
    return {**server.env(), "XDG_CACHE_HOME": str(tmp_path / "cache")}


def answer(*args: str, env: dict[str, str]) -> Any:
    result = invoke(*args, "--format", "json", env=env)
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def refusal(*args: str, env: dict[str, str]) -> str:
    result = invoke(*args, env=env)
    assert result.exit_code == 2, result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.stderr
    return lines[0]


READS = {
    "cost by model every day": ["cost", "--by", "model", "--every", "day", "--since", "4d"],
    "cost top": ["cost", "top", "--since", "4d", "-n", "5"],
    "traces": ["traces", "--since", "2d", "-n", "10", "--sort", "duration"],
    "rca": ["rca", "--since", "1d"],
    "stats": ["stats", "--by", "model", "--since", "4d"],
}


@pytest.mark.parametrize("case", sorted(READS))
def test_polars_reads_the_bucket_as_the_folder(
    case: str, local_store: Path, env: dict[str, str]
) -> None:
    args = READS[case]
    on_s3 = answer(*args, "--store", URL, env=env)
    assert on_s3 == answer(*args, "--store", str(local_store), env=env)
    assert on_s3  # not an empty answer


@pytest.mark.parametrize("case", ["cost by model every day", "cost top", "traces", "rca"])
def test_duckdb_reads_the_bucket_as_polars_reads_the_folder(
    case: str, local_store: Path, env: dict[str, str]
) -> None:
    args = READS[case]
    on_s3 = answer(*args, "--store", URL, "--engine", "duckdb", env=env)
    assert on_s3 == answer(*args, "--store", str(local_store), env=env)


def test_alert_check_reads_the_bucket_and_keeps_states_in_the_companion(
    local_store: Path, env: dict[str, str], tmp_path: Path
) -> None:
    rules = str(ROOT / "docs" / "examples" / "alerts.yaml")
    args = ("alert", "check", "--rules", rules, "--no-notify", "--format", "json")
    on_s3 = invoke(*args, "--store", URL, env=env)
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(local_store, copy)
    on_folder = invoke(*args, "--store", str(copy), env=env)
    assert on_s3.exit_code == on_folder.exit_code, on_s3.output + on_s3.stderr
    assert json.loads(on_s3.stdout) == json.loads(on_folder.stdout)
    companion = Path(env["XDG_CACHE_HOME"]) / "pyflare" / "s3" / BUCKET / PREFIX
    assert any(companion.rglob("*")), "alert states are kept in the local companion folder"


def test_a_window_lists_only_its_days(server: S3Server, env: dict[str, str]) -> None:
    from pyflare_cli.store.remote import parse_remote

    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        store = parse_remote(URL)
    every = store.span_urls(None, None)
    days = sorted({u.split("date=")[1][:10] for u in every})
    assert len(days) >= 4 and all(u.startswith(f"{URL}/spans/date=") for u in every)
    since = datetime.fromisoformat(days[-1]).replace(tzinfo=UTC)
    last = store.span_urls(since, None)
    assert last and all(f"date={days[-1]}" in u for u in last)


@pytest.mark.parametrize(
    ("store", "says"),
    [
        ("s3://no-such-bucket-x/stores/demo", "bucket no-such-bucket-x does not exist"),
        (f"s3://{BUCKET}/stores/typo", "does not exist (no object under it"),
    ],
)
def test_a_missing_bucket_or_prefix_is_one_line(store: str, says: str, env: dict[str, str]) -> None:
    line = refusal("cost", "--since", "4d", "--store", store, env=env)
    assert store in line and says in line


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_refused_credentials_are_one_line(engine: str, env: dict[str, str]) -> None:
    wrong = {**env, "AWS_SECRET_ACCESS_KEY": "wrong", "AWS_ACCESS_KEY_ID": "AKIAWRONGWRONG"}
    line = refusal("cost", "--since", "4d", "--store", URL, "--engine", engine, env=wrong)
    assert URL in line and "access denied" in line


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", str(ROOT / "fixtures")],
        ["store", "compact"],
        ["sessions", "--since", "4d"],
    ],
)
def test_commands_that_write_or_list_parts_refuse_it(args: list[str], env: dict[str, str]) -> None:
    line = refusal(*args, "--store", URL, env=env)
    assert URL in line and "read-only" in line


@pytest.mark.parametrize("engine", ["spark", "clickhouse"])
def test_other_engines_refuse_it(engine: str, env: dict[str, str]) -> None:
    line = refusal("cost", "--since", "4d", "--store", URL, "--engine", engine, env=env)
    assert URL in line and f"--engine {engine}" in line


def docs_examples() -> list[str]:
    """The ``pyflare`` lines of docs/scale.md's S3 section (shell blocks: the generic docs
    test, which has no S3 server, runs only bash blocks)."""
    text = (ROOT / "docs" / "scale.md").read_text()
    section = text.split("## Stores on S3", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```shell\n(.*?)```", section, re.DOTALL)
    return [line for b in blocks for line in b.splitlines() if line.startswith("pyflare ")]


def test_the_docs_example_runs(local_store: Path, server: S3Server, env: dict[str, str]) -> None:
    lines = docs_examples()
    assert len(lines) >= 5
    urls = {word for line in lines for word in line.split() if word.startswith("s3://")}
    assert len(urls) == 1
    bucket, _, prefix = urls.pop()[len("s3://") :].partition("/")
    server.upload(local_store, bucket, prefix)
    for line in lines:
        result = invoke(*shlex.split(line)[1:], env=env)
        assert result.exit_code == 0, f"{line}\n{result.output}{result.stderr}"
        assert result.stdout.strip(), line


def test_the_store_from_the_environment_and_alerts_on_duckdb(
    local_store: Path, env: dict[str, str], tmp_path: Path
) -> None:
    from_env = {**env, "PYFLARE_STORE": URL}
    args = ("cost", "--by", "model", "--since", "4d")
    assert answer(*args, env=from_env) == answer(*args, "--store", str(local_store), env=env)
    rules = str(ROOT / "docs" / "examples" / "alerts.yaml")
    check = ("alert", "check", "--rules", rules, "--no-notify", "--format", "json")
    on_duckdb = invoke(*check, "--engine", "duckdb", env=from_env)
    import shutil

    shutil.copytree(local_store, tmp_path / "copy")
    on_folder = invoke(*check, "--store", str(tmp_path / "copy"), env=env)
    assert on_duckdb.exit_code == on_folder.exit_code, on_duckdb.stderr
    assert json.loads(on_duckdb.stdout) == json.loads(on_folder.stdout)
