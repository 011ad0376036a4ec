"""``eval.<name>`` in the search language: spans found by their evaluation results, which
the caller passes in as the scores table (a semi-join by trace and span id)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from pyflare_cli.analysis.search.compile import compile_query, filter_traces, parse, uses_scores
from pyflare_cli.analysis.search.syntax import Term
from pyflare_cli.errors import QuerySyntaxError

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SPANS = pl.DataFrame(
    {
        "trace_id": ["t1", "t1", "t2", "t3", "t4"],
        "span_id": ["a", "b", "a", "c", "d"],  # span id "a" in two traces
        "service_name": ["api", "api", "api", "web", "web"],
    }
)
SCORES = pl.DataFrame(
    {
        "trace_id": ["t1", "t1", "t2", "t3", "t3", "t4"],
        "span_id": ["a", "a", "a", "c", "c", "d"],
        "evaluator": ["faithfulness", "toxicity", "faithfulness", "faithfulness",
                      "hallucination", "faithfulness"],
        "score": [0.2, 0.9, 0.8, 0.5, 1.0, None],
        "label": [None, "toxic", "good", "ok", "Hallucinated", "error"],
    },
    schema_overrides={"score": pl.Float64},
)  # fmt: skip


def found(query: str) -> list[str]:
    mask = compile_query(query, NOW, SCORES)
    chosen = SPANS.filter(mask)
    return [f"{t}/{s}" for t, s in chosen.select("trace_id", "span_id").iter_rows()]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("eval.faithfulness:<0.5", ["t1/a"]),  # not t2/a: the same span id, another trace
        ("eval.faithfulness:>=0.5", ["t2/a", "t3/c"]),
        ("eval.faithfulness:0.5", ["t3/c"]),
        ("eval.faithfulness:0.4..0.9", ["t2/a", "t3/c"]),
        ("eval.toxicity:>0.5", ["t1/a"]),
        ("eval.hallucination:hallucinated", ["t3/c"]),  # a label, case-insensitively
        ("eval.faithfulness:go*", ["t2/a"]),
        ("eval.faithfulness:error", ["t4/d"]),  # an error result has a label, no score
        ("eval.relevance:>0", []),  # an evaluator nobody ran
        ("-eval.faithfulness:<0.5", ["t1/b", "t2/a", "t3/c", "t4/d"]),
        ("has:eval.hallucination", ["t3/c"]),
        ("-has:eval.faithfulness", ["t1/b"]),
        ("eval.faithfulness:<0.6 service:web", ["t3/c"]),
        ("eval.faithfulness:<0.3 OR eval.hallucination:>0.5", ["t1/a", "t3/c"]),
    ],
)
def test_eval_terms_select_spans_by_their_results(query: str, expected: list[str]) -> None:
    assert found(query) == expected


def test_a_trace_matches_when_one_of_its_spans_is_scored_so() -> None:
    traces = filter_traces(SPANS.lazy(), "eval.faithfulness:<0.5", NOW, SCORES).collect()
    assert traces.get_column("span_id").to_list() == ["a", "b"]


def test_parse_and_detection() -> None:
    assert parse("eval.faithfulness:<0.5") == Term("eval.faithfulness", 0.5, "<", None, 1, 1)
    assert uses_scores(parse("service:api (eval.x:1 OR model:m)"))
    assert uses_scores(parse("-has:eval.x"))
    assert not uses_scores(parse("service:api attr.eval.x:1"))


def test_without_the_scores_table_it_says_so() -> None:
    with pytest.raises(QuerySyntaxError, match=r"eval\.faithfulness"):
        compile_query("eval.faithfulness:<0.5", NOW)
    with pytest.raises(QuerySyntaxError, match="missing key"):
        parse("eval.:1")
