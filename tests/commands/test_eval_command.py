"""`pyflare eval`: summary, the gate's exit codes, offline runs stored idempotently."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from cli_support import invoke

from pyflare_cli.store.evaluations import part_files, scan_evaluations


@pytest.fixture
def store(demo_store: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(demo_store, copy)
    return copy


def test_summary_reads_the_demo_evaluation_events(demo_store: Path) -> None:
    result = invoke("eval", "summary", "--since", "30d", "--store", str(demo_store), "-f", "json")
    assert result.exit_code == 0, result.output
    rows = {row["evaluator"]: row for row in json.loads(result.stdout)}
    assert {"faithfulness", "answer_relevance", "helpfulness"} <= set(rows)
    for row in rows.values():
        assert row["results"] >= row["scored"] > 0
        assert 0 <= row["mean"] <= 1 and 0 <= row["pass_rate"] <= 1


def test_summary_by_model_names_the_graded_model(demo_store: Path) -> None:
    result = invoke(
        "eval",
        "summary",
        "--since",
        "30d",
        "--by",
        "model",
        "--store",
        str(demo_store),
        "-f",
        "csv",
    )
    assert result.exit_code == 0, result.output
    models = set(pl.read_csv(result.stdout.encode()).get_column("model").to_list())
    assert models and "(none)" not in models


def test_check_passes_fails_and_fails_closed(demo_store: Path) -> None:
    base = ("eval", "check", "--since", "30d", "--store", str(demo_store))
    ok = invoke(*base, "--min", "faithfulness=0.0")
    assert ok.exit_code == 0, ok.output
    failed = invoke(*base, "--min", "faithfulness=0.99", "--by", "model")
    assert failed.exit_code == 1
    assert "FAIL faithfulness model=" in failed.stdout
    missing = invoke(*base, "--min", "faithfulness=0.0", "--max", "toxicity=0.1")
    assert missing.exit_code == 2
    assert "toxicity" in missing.stderr
    empty = invoke(
        "eval", "check", "--since", "1h", "--store", str(demo_store), "--min", "faithfulness=0.5"
    )
    assert empty.exit_code == 2


@pytest.mark.parametrize(
    "args",
    [
        ("check",),
        ("check", "--min", "faithfulness"),
        ("check", "--min", "faithfulness=high"),
        ("check", "--min", "a=1", "--max", "a=2"),
        ("summary", "--by", "colour"),
        ("run", "toxicity"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: tuple[str, ...], demo_store: Path) -> None:
    result = invoke("eval", *args, "--store", str(demo_store))
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_run_is_idempotent_and_feeds_summary_and_gate(store: Path) -> None:
    first = invoke("eval", "run", "pii", "--since", "30d", "--store", str(store), "-f", "json")
    assert first.exit_code == 0, first.output
    scored = len(json.loads(first.stdout))
    assert scored > 100
    rows = scan_evaluations(store).collect()
    again = invoke("eval", "run", "pii", "--since", "30d", "--store", str(store))
    assert again.exit_code == 0, again.output
    assert "found by type" in again.stdout
    after = scan_evaluations(store).collect()
    assert after.height == rows.height == scored
    assert after.select("trace_id", "span_id").is_duplicated().sum() == 0
    assert len(part_files(store, "pii")) == 1
    gate = invoke("eval", "check", "--since", "30d", "--store", str(store), "--max", "pii=0.5")
    assert gate.exit_code == 0, gate.output


def test_run_sample_is_stable(store: Path) -> None:
    def ids() -> set[str]:
        result = invoke(
            "eval",
            "run",
            "injection",
            "--since",
            "30d",
            "--sample",
            "5",
            "--store",
            str(store),
            "-f",
            "json",
        )
        assert result.exit_code == 0, result.output
        return {row["trace_id"] for row in json.loads(result.stdout)}

    first = ids()
    assert 0 < len(first) <= 5
    assert ids() == first


def test_groundedness_run_on_rag_traces(store: Path) -> None:
    result = invoke("eval", "run", "groundedness", "--since", "30d", "--store", str(store))
    assert result.exit_code == 0, result.output
    stored = scan_evaluations(store).collect()
    assert stored.height > 0
    assert stored.get_column("score").is_between(0, 1).all()


def test_traces_where_eval_finds_spans_by_their_scores(store: Path) -> None:
    from pyflare_cli.query.eval_scores import search_scores

    def traces(query: str) -> set[str]:
        result = invoke(
            "traces", "--since", "30d", "--where", query, "--limit", "1000",
            "--store", str(store), "-f", "json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return {row["trace_id"] for row in json.loads(result.stdout)}

    scores = search_scores(store, None, None)
    low = scores.filter((pl.col("evaluator") == "faithfulness") & (pl.col("score") < 0.7))
    assert low.height > 0
    assert traces("eval.faithfulness:<0.7") == set(low.get_column("trace_id"))
    assert invoke("eval", "run", "pii", "--since", "30d", "--store", str(store)).exit_code == 0
    found = scan_evaluations(store).filter(pl.col("score") < 0.5).collect()
    assert found.height > 0
    assert traces("eval.pii:<0.5") == set(found.get_column("trace_id"))
    assert traces("eval.pii:clean") == set(found.get_column("trace_id"))
    assert traces("eval.pii:>0.5") == set()
    bad = invoke("traces", "--where", "eval.:1", "--store", str(store))
    assert bad.exit_code == 2
