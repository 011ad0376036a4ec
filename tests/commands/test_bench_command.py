"""``pyflare bench``: every suite runs at a tiny size, and the regression gate's logic."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import invoke

from pyflare_cli.bench.compare import compare, load_results, parse_ratio
from pyflare_cli.bench.figures import Figure
from pyflare_cli.bench.peers import rotel_command, rotel_version
from pyflare_cli.errors import UsageError


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated data of the module's runs (demo files, the store), made once."""
    return tmp_path_factory.mktemp("bench") / "work"


@pytest.fixture(scope="module")
def results(work: Path) -> Iterator[dict[str, object]]:
    """One run of every suite that exists, with their peers, on 2,000 spans, one repeat."""
    out = work.parent / "results.json"
    result = invoke("bench", "--spans", "2000", "--repeat", "1", "--work", str(work),
                    "--out", str(out), "--peers")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Peers on the same data" in result.stdout
    yield json.loads(out.read_text())


def test_every_suite_reports_its_figures(results: dict[str, object]) -> None:
    figures = results["figures"]
    assert isinstance(figures, list)
    suites = {f["suite"] for f in figures}
    assert suites == {"ingest", "receive", "query", "cost", "drift", "rca", "alert"}
    assert results["skipped"] == {"tui": "not built yet (the TUI, issue 8)"}
    by_key = {f"{f['suite']}/{f['name']}": f for f in figures}
    assert by_key["ingest/otlp-protobuf spans/s"]["median"] > 0
    assert by_key["ingest/otlp-protobuf bytes per span on disk"]["median"] > 50
    assert by_key["receive/spans/s persisted"]["median"] > 0
    assert by_key["receive/rejected requests"]["median"] == 0
    assert by_key["query/trace lookup by id p50"]["unit"] == "s"
    assert all(len(f["values"]) == 1 for f in figures)  # one repeat; the warm-up is not kept
    machine = results["machine"]
    assert isinstance(machine, dict) and machine["cores"] and "polars" in machine["libraries"]


def _figure(name: str, values: tuple[float, ...], better: str = "lower") -> Figure:
    return Figure("s", name, "s", values, better)  # type: ignore[arg-type]


def test_the_gate_accounts_for_noise_and_direction() -> None:
    baseline = [
        _figure("fast", (1.0, 1.0, 1.0)),
        _figure("noisy", (1.0, 1.2, 1.4)),
        _figure("throughput", (100.0, 100.0), "higher"),
        _figure("gone", (1.0,)),
    ]
    current = [
        _figure("fast", (1.15, 1.15, 1.15)),  # 15% slower, no noise: regressed
        _figure("noisy", (1.3, 1.35, 1.4)),  # 12.5% slower, 40% noise: fine
        _figure("throughput", (85.0, 85.0), "higher"),  # 15% less: regressed
        _figure("new", (1.0,)),
    ]
    found, only_before, only_now = compare(baseline, current, 0.10)
    verdicts = {c.key: c.regressed for c in found}
    assert verdicts == {"s/fast": True, "s/noisy": False, "s/throughput": True}
    noisy = next(c for c in found if c.key == "s/noisy")
    assert noisy.allowed == pytest.approx(0.10 + 0.4 / 1.2)
    assert only_before == ["s/gone"] and only_now == ["s/new"]
    improved, _, _ = compare([_figure("x", (2.0,))], [_figure("x", (1.0,))], 0.0)
    assert not improved[0].regressed and improved[0].change == pytest.approx(-0.5)


def test_ratios_and_bad_result_files(tmp_path: Path) -> None:
    assert parse_ratio("10%") == pytest.approx(0.1) and parse_ratio("0.25") == 0.25
    with pytest.raises(UsageError, match="percentage"):
        parse_ratio("ten")
    with pytest.raises(UsageError, match="no such file"):
        load_results(tmp_path / "none.json")
    junk = tmp_path / "junk.json"
    junk.write_text('{"figures": 3}')
    with pytest.raises(UsageError, match="no figures"):
        load_results(junk)


def test_compare_exit_codes(results: dict[str, object], tmp_path: Path) -> None:
    figures = results["figures"]
    assert isinstance(figures, list)
    query = [f for f in figures if f["suite"] == "query"]
    run = {"spans": 1000, "seed": 7, "machine": results["machine"]}
    generous = tmp_path / "generous.json"
    slow = [{**f, "values": [v * 100 for v in f["values"]]} for f in query]
    generous.write_text(json.dumps({**run, "figures": slow}))
    strict = tmp_path / "strict.json"
    fast = [{**f, "values": [v / 100 for v in f["values"]]} for f in query]
    strict.write_text(json.dumps({**run, "figures": fast}))
    args = ("bench", "query", "--spans", "1000", "--repeat", "1", "--work", str(tmp_path / "w"))
    ok = invoke(*args, "--compare", str(generous), "--format", "markdown")
    assert ok.exit_code == 0, ok.output
    assert "| query/trace lookup by id p50 |" in ok.stdout
    worse = invoke(*args, "--compare", str(strict))
    assert worse.exit_code == 1 and "regressed beyond 10%" in worse.stderr


def test_usage_errors() -> None:
    assert "unknown suite 'tuning'" in invoke("bench", "tuning").stderr
    assert invoke("bench", "--spans", "ten").exit_code == 2
    assert "at least 1000" in invoke("bench", "--spans", "10").stderr
    assert invoke("bench", "--max-regression", "x%").exit_code == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"spans": 100_000}, "its span count is 100000, this run's 1000"),
        ({"seed": 8}, "its seed is 8, this run's 7"),
        ({"machine": {"cpu": "Some Other CPU"}}, "its machine cpu is 'Some Other CPU'"),
        ({"machine": "cores"}, "its machine cpu is None"),
        ({"spans": None}, "its span count is None"),
    ],
)
def test_compare_refuses_runs_that_are_not_comparable(
    results: dict[str, object], tmp_path: Path, change: dict[str, object], message: str
) -> None:
    machine = results["machine"]
    assert isinstance(machine, dict)
    if isinstance(change.get("machine"), dict):
        change = {"machine": {**machine, **change["machine"]}}  # type: ignore[dict-item]
    run = {"spans": 1000, "seed": 7, "machine": machine, "figures": [], **change}
    other = tmp_path / "other.json"
    other.write_text(json.dumps(run))
    work = str(tmp_path / "w")
    result = invoke("bench", "query", "--spans", "1000", "--work", work, "--compare", str(other))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "w").exists()  # refused before anything ran


def test_peers_run_on_the_same_data(results: dict[str, object]) -> None:
    """DuckDB's cost totals equal pyflare's; Rotel's blackhole received the same load."""
    peers = results["peers"]
    assert isinstance(peers, list)
    by_key = {(p["suite"], p["name"]): p for p in peers}
    wall = by_key[("cost", "cost --by model --every day: wall")]
    assert wall["peer"].startswith("DuckDB ") and wall["unit"] == "s"
    assert wall["pyflare"]["median"] > 0 and wall["peer_figure"]["median"] > 0
    assert wall["ratio"] == pytest.approx(wall["pyflare"]["median"] / wall["peer_figure"]["median"])
    cpu = by_key[("cost", "cost --by model --every day: CPU")]
    assert cpu["pyflare"]["median"] > 0 and cpu["peer_figure"]["median"] > 0
    assert by_key[("cost", "cost --by model --every day: peak memory")]["unit"] == "MiB"
    (check,) = results["peer_checks"]  # type: ignore[misc]
    assert check["agrees"] and check["compared"] >= 6 and check["differ"] == 0
    if rotel_command() is None:  # pragma: no cover - rotel is in the test extra
        assert "Rotel not installed" in results["peers_skipped"]["receive"]  # type: ignore[index]
        return
    assert results["peers_skipped"] == {}
    acked = by_key[("receive", "spans/s acknowledged")]
    assert acked["peer"].startswith("Rotel ") and "blackhole" in acked["peer"]
    assert acked["better"] == "higher" and acked["peer_figure"]["median"] > 0
    assert ("receive", "ack latency p99") in by_key


def test_a_missing_peer_is_skipped_saying_so(
    work: Path, results: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without DuckDB, cost still runs and its peer is named as not installed (exit 0)."""
    from pyflare_cli.bench import peers

    monkeypatch.setattr(peers, "duckdb_version", lambda: None)
    result = invoke("bench", "cost", "--peers", "--spans", "2000", "--repeat", "1",
                    "--work", str(work))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "peer of cost: DuckDB not installed (pip install duckdb), skipped" in result.stdout
    assert "pyflare cost --by model --every day" in result.stdout
    assert "Peers on the same data" not in result.stdout


def test_rotel_is_found_on_path_or_in_its_python_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `rotel` on PATH wins; with neither on PATH nor importable there is no Rotel."""
    binary = tmp_path / "bin" / "rotel"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\necho 'rotel 9.9.9'\n")
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", str(binary.parent))
    assert rotel_command() == [str(binary)]
    assert rotel_version([str(binary)]) == "Rotel 9.9.9"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(sys, "path", [p for p in sys.path if "site-packages" not in p])
    monkeypatch.delitem(sys.modules, "rotel", raising=False)
    assert rotel_command() is None


def test_peers_refused_where_no_suite_has_one() -> None:
    result = invoke("bench", "drift", "rca", "--peers", "--spans", "1000")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --peers: no peer runs drift, rca; peers exist for cost (DuckDB), receive (Rotel)"
    )
