"""The README's tour is true for a user who just ran `pyflare demo`.

Each ``pyflare`` line of the README runs as written against a store made by the README's
own plain ``pyflare demo`` (defaults only, at a fixed now), not the test store with the
fixture trace added; then what its comment or window promises is checked on that store,
mostly by running the same command again with ``--format json``. A new README line
needs a claim here. The examples of the pages a new user reads next (getting-started.md,
traces.md) run on the same store and must find something.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_support import NOW, invoke
from test_docs_examples import GATE, NEW_USER_PAGES, README, examples, run_example
from typer.testing import Result

TOUR_ID = "feedc0defa11ed000000000000000001"
DAY_AGO = datetime.fromisoformat(NOW) - timedelta(days=1)


def _json(store: Path, *args: str) -> Any:
    result = invoke(*args, "--format", "json", env={"PYFLARE_STORE": str(store)})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _demo(store: Path, runs: list[Result]) -> None:
    assert "50,0" in runs[0].stdout and "over 3 days" in runs[0].stdout
    assert "pyflare trace show feedc0de" in runs[0].stdout  # the tour names the README's id


def _slowest_of_day(store: Path, runs: list[Result]) -> None:
    rows = _json(store, "traces", "--sort", "duration", "--since", "24h")
    assert len(rows) >= 10
    assert all(_time(row["start_time"]) >= DAY_AGO for row in rows)
    durations = [row["duration_ns"] for row in rows]
    assert durations == sorted(durations, reverse=True)


def _eu_errors(store: Path, runs: list[Result]) -> None:
    where = "status:error model:gpt-4o-mini resource.cloud.region:eu-west-1"
    rows = _json(store, "traces", "--where", where)
    assert len(rows) >= 10
    assert all(row["errors"] > 0 and "gpt-4o-mini" in row["models"] for row in rows)


def _tour_trace(store: Path, runs: list[Result]) -> None:
    out = runs[0].stdout
    assert f"trace {TOUR_ID}" in out and "critical path" in out and "self" in out
    spans = _json(store, "trace", "show", "feedc0de")
    versions = {(span["service_name"], span["service_version"]) for span in spans}
    assert {"chat-gateway", "agent-runtime"} <= {service for service, _ in versions}
    assert ("rag-api", "2.0.0") in versions  # the new version's retriever
    failed = [s for s in spans if s["status_code"] == "error" and s["model"] == "gpt-4o-mini"]
    assert failed, "the tour's trace shows the incident: a failed gpt-4o-mini call"
    regions = {span["resource_attributes"].get("cloud.region") for span in spans}
    assert regions == {"eu-west-1"}
    assert _time(spans[0]["start_time"]) >= DAY_AGO


def _query(store: Path, runs: list[Result]) -> None:
    sql = "SELECT model, count(*) AS calls, sum(cost_usd) AS usd FROM spans GROUP BY model"
    rows = _json(store, "query", sql)
    assert sum(1 for row in rows if row["model"] and row["usd"]) >= 5


def _cost_by_model(store: Path, runs: list[Result]) -> None:
    report = _json(store, "cost", "--by", "model", "--since", "24h")
    assert report["total_usd"] > 1 and report["previous_usd"] > 1
    assert sum(1 for row in report["rows"] if row["change"] is not None) >= 5


def _cost_top(store: Path, runs: list[Result]) -> None:
    assert len(_json(store, "cost", "top", "-n", "5")) == 5


def _cost_check(store: Path, runs: list[Result]) -> None:
    assert runs[0].exit_code == 0 and "\nok: total" in "\n" + runs[0].stdout
    breached = invoke("cost", "check", "--max-total", "1", env={"PYFLARE_STORE": str(store)})
    assert breached.exit_code == 1, breached.output


def _drift(store: Path, runs: list[Result]) -> None:
    report = _json(store, "drift", "--all-models", "--since", "24h")
    assert len(report["checks"]) >= 5  # several models have calls in both windows
    assert "input_tokens" in runs[0].stdout and "DRIFT" in runs[0].stdout


def _rca(store: Path, runs: list[Result]) -> None:
    assert "rag-api 2.0.0" in runs[0].stdout and "gpt-4o-mini" in runs[0].stdout


def _ok(store: Path, runs: list[Result]) -> None:
    assert all(run.exit_code == 0 for run in runs)


def _ingest(store: Path, runs: list[Result]) -> None:
    assert "spans" in runs[0].stdout


def _store_info(store: Path, runs: list[Result]) -> None:
    info = _json(store, "store", "info")
    assert info["rows"] >= 50_000 and info["sources"] == 1


Claim = Callable[[Path, list[Result]], None]
CLAIMS: dict[str, Claim] = {
    "pyflare demo": _demo,
    "pyflare traces --sort duration --since 24h": _slowest_of_day,
    "pyflare traces --where 'status:error model:gpt-4o-mini resource.cloud.region:eu-west-1'": (
        _eu_errors
    ),
    "pyflare trace show feedc0de": _tour_trace,
    'pyflare query "SELECT model, count(*) AS calls, sum(cost_usd) AS usd FROM spans GROUP BY '
    'model"': _query,
    "pyflare cost --by model --since 24h": _cost_by_model,
    "pyflare cost top -n 5": _cost_top,
    "pyflare cost check --max-total 100": _cost_check,
    "pyflare drift --all-models --since 24h": _drift,
    "pyflare rca": _rca,
    "pyflare alert test docs/examples/alerts.test.yaml": _ok,
    "pyflare bench query --spans 1000 --repeat 1": _ok,
    "pyflare ingest fixtures/otlp/ fixtures/phoenix/": _ingest,
    "pyflare store info": _store_info,
    "pyflare store compact && pyflare store prune --older-than 30d": _ok,
}
TOUR = [command for _, command in examples([README])]
FIRST_PAGES = examples(NEW_USER_PAGES)


@pytest.fixture(scope="module")
def plain_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Result]]:
    """A store made by the README's `pyflare demo`, with no option, as a new user makes it."""
    store = tmp_path_factory.mktemp("plain") / ".pyflare"
    result = invoke("demo", env={"PYFLARE_STORE": str(store)})
    assert result.exit_code == 0, result.output
    yield store, result
    shutil.rmtree(store.parent, ignore_errors=True)


def test_every_readme_line_has_a_claim() -> None:
    assert TOUR[0] == "pyflare demo"
    assert {command.removesuffix(GATE) for command in TOUR} == set(CLAIMS)


@pytest.mark.parametrize("command", TOUR[1:], ids=TOUR[1:])
def test_readme_line_holds_after_a_plain_demo(
    command: str,
    plain_demo: tuple[Path, Result],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, _ = plain_demo
    runs = run_example("README.md", command, store, tmp_path, monkeypatch)
    CLAIMS[command.removesuffix(GATE)](store, runs)


def test_readme_demo_line(plain_demo: tuple[Path, Result]) -> None:
    store, result = plain_demo
    _demo(store, [result])


@pytest.mark.parametrize(("page", "command"), FIRST_PAGES, ids=[c for _, c in FIRST_PAGES])
def test_first_pages_run_after_a_plain_demo(
    page: str,
    command: str,
    plain_demo: tuple[Path, Result],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """getting-started.md and traces.md, read right after the demo, find what they show."""
    store, _ = plain_demo
    for run in run_example(page, command, store, tmp_path, monkeypatch):
        assert run.stdout.strip() and not run.stdout.startswith(("no ", "[]")), run.output
