"""`pyflare eval run judge` against the local fake LLM server (examples/fake_llm).

The fake answers ``[verdict=LABEL]`` with a JSON verdict, anything else with prose (a
malformed verdict), ``[timeout]`` after 1 s, ``[rate_limit]`` always with 429 and
``[rate_limit_once]`` with one 429 carrying ``Retry-After: 1``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from cli_support import invoke

from pyflare_cli.store.evaluations import scan_evaluations

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from fake_llm import FakeLLMServer

T0 = datetime(2026, 11, 20, 11, 30, tzinfo=UTC)
KEY = {"OPENAI_API_KEY": "sk-fake"}


@pytest.fixture
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


def llm(span_id: str, output: str, minutes: int = 0, trace: str | None = None) -> dict[str, object]:
    return {
        "span_id": span_id,
        "trace_id": trace or f"t-{span_id}",
        "start_time": T0 + timedelta(minutes=minutes),
        "ai_kind": "llm",
        "model": "gpt-4o",
        "input_text": "What is the capital of France?",
        "output_text": output,
    }


@pytest.fixture
def store(
    tmp_path: Path,
    make_spans: Callable[..., pl.DataFrame],
    add_source: Callable[[Path, pl.DataFrame, str], list[Path]],
) -> Path:
    root = tmp_path / "store"
    frame = make_spans(
        llm("good", "Paris. [verdict=factual]", 0),
        llm("bad", "Lyon, since 1990. [verdict=hallucinated]", 1),
        llm("prose", "Paris is the capital.", 2),
        llm("slow", "Paris [timeout] [verdict=factual]", 3),
        llm("limited", "Paris [rate_limit] [verdict=factual]", 4),
        llm("once", "Paris [rate_limit_once] [verdict=factual]", 5),
        {"span_id": "tool", "start_time": T0, "ai_kind": "tool", "output_text": "x"},
    )
    add_source(root, frame, "judge-spans")
    return root


def judge(fake: FakeLLMServer, store: Path, *extra: str) -> list[str]:
    return [
        "eval", "run", "judge", "--endpoint", fake.openai_url, "--model", "gpt-4o-mini",
        "--since", "1h", "--store", str(store), "--timeout", "0.4", "--retries", "1", *extra,
    ]  # fmt: skip


def stored(store: Path) -> dict[str, dict[str, object]]:
    rows = scan_evaluations(store).collect()
    return {row["span_id"]: row for row in rows.iter_rows(named=True)}


def test_judge_scores_good_answers_and_records_failures_as_errors(
    fake: FakeLLMServer, store: Path
) -> None:
    result = invoke(*judge(fake, store, "--yes", "-f", "json"), env=KEY)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 6
    assert "estimated cost: $" in result.stderr  # gpt-4o-mini has a price
    assert "3 span(s) got no verdict" in result.stderr
    rows = stored(store)
    assert set(rows) == {"good", "bad", "prose", "slow", "limited", "once"}
    assert (rows["good"]["label"], rows["good"]["score"]) == ("factual", 0.0)
    assert (rows["bad"]["label"], rows["bad"]["score"]) == ("hallucinated", 1.0)
    assert rows["once"]["label"] == "factual"
    for span, reason in (("prose", "malformed verdict"), ("slow", "timed out"),
                         ("limited", "HTTP 429")):  # fmt: skip
        assert rows[span]["score"] is None and rows[span]["label"] is None
        assert reason in str(rows[span]["explanation"])
        assert json.loads(str(rows[span]["details"]))["error"]
    assert json.loads(str(rows["good"]["details"]))["input_tokens"] > 0
    # Each request carried the key, the model and the span's text between markers.
    path, body = fake.requests[0]
    assert path == "/v1/chat/completions" and body["model"] == "gpt-4o-mini"
    assert "<<<ANSWER" in body["messages"][1]["content"]


def test_429_waits_what_retry_after_says_and_then_succeeds(
    fake: FakeLLMServer, store: Path
) -> None:
    result = invoke(*judge(fake, store, "--yes", "--where", "span_id:once"), env=KEY)
    assert result.exit_code == 0, result.output
    assert stored(store)["once"]["label"] == "factual"
    times = [t for t, (_, body) in zip(fake.times, fake.requests, strict=True)
             if "[rate_limit_once]" in json.dumps(body)]  # fmt: skip
    assert len(times) == 2
    assert times[1] - times[0] >= 0.95  # Retry-After: 1 honoured, not the 0.5 s backoff


def test_rate_limited_and_timed_out_calls_are_retried_then_given_up(
    fake: FakeLLMServer, store: Path
) -> None:
    result = invoke(*judge(fake, store, "--yes", "--retries", "2"), env=KEY)
    assert result.exit_code == 0, result.output
    sent = [json.dumps(body) for _, body in fake.requests]
    assert sum("[rate_limit]" in s for s in sent) == 3
    assert sum("[timeout]" in s for s in sent) == 3
    assert "(3 attempts)" in str(stored(store)["limited"]["explanation"])


def test_an_error_never_replaces_a_stored_verdict(fake: FakeLLMServer, store: Path) -> None:
    assert invoke(*judge(fake, store, "--yes"), env=KEY).exit_code == 0
    before = stored(store)["good"]
    with FakeLLMServer() as down:
        pass  # a port nobody listens on any more
    again = invoke(*judge(down, store, "--yes", "--retries", "0"), env=KEY)
    assert again.exit_code == 0, again.output
    assert "connection failed" in again.stderr
    assert stored(store)["good"]["label"] == before["label"]


def test_concurrency_is_limited(fake: FakeLLMServer, store: Path) -> None:
    result = invoke(*judge(fake, store, "--yes", "--concurrency", "2", "--timeout", "5"), env=KEY)
    assert result.exit_code == 0, result.output
    assert 1 <= fake.max_in_flight <= 2


def test_judge_fails_closed_on_usage(fake: FakeLLMServer, store: Path) -> None:
    no_yes = invoke(*judge(fake, store), env=KEY)  # stdin is not a terminal here
    assert no_yes.exit_code == 2 and "--yes" in no_yes.stderr
    assert "estimated cost" in no_yes.stderr and fake.requests == []
    no_key = invoke(*judge(fake, store, "--yes", "--api-key-env", "PYFLARE_NO_SUCH_KEY"))
    assert no_key.exit_code == 2 and "PYFLARE_NO_SUCH_KEY" in no_key.stderr
    bad_prompt = invoke(*judge(fake, store, "--yes", "--prompt", "vibes"), env=KEY)
    assert bad_prompt.exit_code == 2 and "--prompt" in bad_prompt.stderr
    no_model = invoke("eval", "run", "judge", "--endpoint", fake.openai_url,
                      "--store", str(store), "--yes", env=KEY)  # fmt: skip
    assert no_model.exit_code == 2 and "--model" in no_model.stderr
    assert fake.requests == []


def test_unpriced_model_says_the_cost_is_unknown(fake: FakeLLMServer, store: Path) -> None:
    args = judge(fake, store, "--yes", "--where", "span_id:good")
    args[args.index("gpt-4o-mini")] = "my-local-judge"
    result = invoke(*args, env=KEY)
    assert result.exit_code == 0, result.output
    assert "no price" in result.stderr
    assert stored(store)["good"]["version"] == "judge-1:my-local-judge"
