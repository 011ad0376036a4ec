"""Phoenix span evaluations joined to the spans (``eval.<name>.score|label|explanation``).

``fixtures/phoenix/spans_with_evals.{csv,parquet}`` were written by pandas
(``tests/commands/make_phoenix_evals.py``) the way Phoenix's
``TraceDataset.get_spans_dataframe(include_evaluations=True)`` builds its frame: the spans
indexed by ``context.span_id``, concatenated with each ``SpanEvaluations`` frame prefixed
``eval.<name>.`` (``Evaluations.get_dataframe(prefix_columns_with_name=True)``). Spans
without a result have empty (NaN) cells. Before, these top-level columns were dropped.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from cli_support import invoke

from pyflare_cli.sources.decoding import decode
from pyflare_cli.sources.opening import sniff
from pyflare_cli.sources.tasks import split

EXPECTED = [
    ("b000000000000001", "Q&A Correctness", 1.0, "correct", None),
    ("b000000000000002", "hallucination", 0.0, "factual", "The answer matches the order record."),
    ("b000000000000003", "hallucination", 1.0, "hallucinated", "No refund policy says 5 days."),
]


@pytest.mark.parametrize("name", ["spans_with_evals.csv", "spans_with_evals.parquet"])
def test_joined_evaluations_become_attributes(fixtures_dir: Path, name: str) -> None:
    path = fixtures_dir / "phoenix" / name
    decoded = [decode(task) for task in split(path, sniff(path), name)]
    assert [d.dead for d in decoded] == [[]]
    spans = pl.concat([d.spans for d in decoded]).sort("span_id")
    attributes = {row["span_id"]: row["attributes"] for row in spans.iter_rows(named=True)}
    assert attributes["b000000000000002"]["eval.hallucination.label"] == "factual"
    assert float(attributes["b000000000000003"]["eval.hallucination.score"]) == 1.0
    # a span without a result of an evaluation gets no attribute of it (no "nan")
    assert not any(k.startswith("eval.Q&A") for k in attributes["b000000000000002"])
    assert not any(k.startswith("eval.") for k in attributes["b000000000000001"] if "hall" in k)


@pytest.mark.parametrize("name", ["spans_with_evals.csv", "spans_with_evals.parquet"])
def test_eval_summary_reads_them(fixtures_dir: Path, tmp_path: Path, name: str) -> None:
    store = tmp_path / "store"
    result = invoke("ingest", str(fixtures_dir / "phoenix" / name), "--store", str(store))
    assert result.exit_code == 0, result.output
    at = {"PYFLARE_NOW": "2025-11-21T00:00:00+00:00"}
    summary = invoke(
        "eval", "summary", "--since", "7d", "--by", "model", "--store", str(store), "-f", "json",
        env=at,
    )  # fmt: skip
    assert summary.exit_code == 0, summary.output
    rows = {(r["evaluator"], r["model"]): r for r in json.loads(summary.stdout)}
    assert rows[("hallucination", "gpt-4o")]["pass_rate"] == 0.0  # label hallucinated
    assert rows[("hallucination", "gpt-4o-mini")]["pass_rate"] == 1.0
    # the root span has no model: its trace's first one
    assert rows[("Q&A Correctness", "gpt-4o-mini")]["mean"] == 1.0
    found = invoke(
        "traces", "--since", "7d", "--where", "eval.hallucination:hallucinated",
        "--store", str(store), "-f", "json", env=at,
    )  # fmt: skip
    assert found.exit_code == 0, found.output
    assert [t["trace_id"] for t in json.loads(found.stdout)] == ["6c8efff798038103d269b633813fc60c"]


def test_the_scores_table_holds_every_field(fixtures_dir: Path) -> None:
    from pyflare_cli.analysis.eval.scores import all_scores, empty_scores

    path = fixtures_dir / "phoenix" / "spans_with_evals.parquet"
    decoded = [decode(task) for task in split(path, sniff(path), path.name)]
    spans = pl.concat([d.spans for d in decoded])
    scores = all_scores(spans.lazy(), empty_scores()).collect().sort("span_id")
    got = scores.select("span_id", "evaluator", "score", "label", "explanation").rows()
    assert got == EXPECTED
    assert set(scores.get_column("source")) == {"phoenix"}
