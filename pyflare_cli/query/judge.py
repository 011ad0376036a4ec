"""``eval run judge``: an LLM-as-judge over any OpenAI-compatible chat endpoint.

The prompts and the verdict parsing are pure (:mod:`analysis.eval.judge`); this module
plans a run (which spans, how many tokens, what it will cost at the model's price from
:mod:`query.prices`) and runs it: ``POST <endpoint>/chat/completions`` with httpx, at
most ``concurrency`` requests in flight (a thread pool over one connection pool),
retrying 429 (waiting what ``Retry-After`` says, up to ``max_wait``), 5xx, timeouts and
connection errors with exponential backoff and jitter. Other 4xx answers are not retried.
A call that still fails, or an answer that is not a verdict, is stored as an error
(no score, no label, the reason as explanation), never as a score, and never over a
score the same judge already stored for that span.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.eval import judge
from pyflare_cli.query.evaluations import sampled, window_spans
from pyflare_cli.query.prices import priced
from pyflare_cli.query.spans import SpanQuery
from pyflare_cli.store.evaluations import EVALUATIONS, scan_evaluations, write_evaluations


@dataclass(frozen=True)
class JudgeConfig:
    """Where and how to ask: the endpoint, the model, the key, and the limits."""

    endpoint: str
    model: str
    api_key: str | None
    prompt: judge.Prompt
    concurrency: int = 4
    retries: int = 3
    timeout: float = 60.0
    backoff: float = 0.5
    max_wait: float = 60.0

    @property
    def url(self) -> str:
        base = self.endpoint.rstrip("/")
        return base if base.endswith("/chat/completions") else base + "/chat/completions"

    @property
    def version(self) -> str:
        """A new judge model is a new evaluator version (its rows are kept apart)."""
        return f"judge-{judge.VERSION}:{self.model}"


@dataclass(frozen=True)
class Answer:
    """One request's outcome: the answer text, or the error that ended it."""

    text: str | None
    error: str | None
    attempts: int
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class JudgePlan:
    """The spans to judge, with each request's estimated input tokens."""

    inputs: pl.DataFrame

    @property
    def requests(self) -> int:
        return self.inputs.height

    @property
    def input_tokens(self) -> int:
        return int(self.inputs.get_column("input_tokens").sum() or 0)


def plan(
    root: Path, query: SpanQuery, now: datetime, sample: int | None, prompt: judge.Prompt
) -> JudgePlan:
    spans = sampled(window_spans(root, query, now), sample)
    inputs = judge.with_estimated_tokens(judge.judge_inputs(spans), prompt).collect()
    return JudgePlan(inputs)


def _cost(
    tokens: pl.LazyFrame, model: str, root: Path, rules: tuple[PriceRule, ...]
) -> float | None:
    """USD of requests with ``input_tokens`` and ``output_tokens`` at ``model``'s price,
    each priced on its own (a tiered price applies per request); None when unpriced."""
    requests = tokens.select(
        pl.lit(None, pl.String).alias("provider"),
        pl.lit(model).alias("model"),
        pl.lit(datetime.now(UTC)).dt.cast_time_unit("ns").alias("start_time"),
        pl.col("input_tokens").cast(pl.Int64),
        pl.col("output_tokens").cast(pl.Int64),
        *(
            pl.lit(None, pl.Int64).alias(c)
            for c in ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
        ),
        pl.lit(None, pl.Float64).alias("reported_cost_usd"),
    )
    costs = priced(requests, root, rules).select("cost_pico", "cost_source").collect()
    if costs.height == 0:
        return 0.0
    if costs.get_column("cost_source").is_null().any():
        return None
    return float(costs.get_column("cost_pico").cast(pl.Int128).sum()) / 1e12


def estimate_cost(
    plan: JudgePlan, model: str, output_tokens: int, root: Path, rules: tuple[PriceRule, ...]
) -> float | None:
    """The plan's cost in USD if each verdict takes ``output_tokens``; None when unpriced."""
    tokens = plan.inputs.lazy().select(
        "input_tokens", pl.lit(output_tokens, pl.Int64).alias("output_tokens")
    )
    return _cost(tokens, model, root, rules)


@dataclass(frozen=True)
class Usage:
    """What a run used, from the endpoint's own ``usage`` counts."""

    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None


def usage(results: pl.DataFrame, model: str, root: Path, rules: tuple[PriceRule, ...]) -> Usage:
    counts = pl.Struct({"input_tokens": pl.Int64, "output_tokens": pl.Int64})
    tokens = (
        results.lazy()
        .select(pl.col("details").str.json_decode(counts).struct.unnest())
        .drop_nulls()
    )
    used = tokens.collect()
    return Usage(
        results.height,
        int(results.get_column("score").is_null().sum()),
        int(used.get_column("input_tokens").sum() or 0),
        int(used.get_column("output_tokens").sum() or 0),
        _cost(used.lazy(), model, root, rules),
    )


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asks us to wait (``Retry-After``: seconds or an HTTP date)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
        text = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        text = None
    return str(text or response.reason_phrase)[:200]


def _content(response: httpx.Response) -> Answer | str:
    """The answer of a 200, or why the body is not a chat completion."""
    try:
        data = response.json()
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return "the endpoint's answer is not a chat completion"
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return Answer(
        content if isinstance(content, str) else None,
        None,
        0,
        usage.get("prompt_tokens"),
        usage.get("completion_tokens"),
    )


def ask(client: httpx.Client, config: JudgeConfig, messages: list[dict[str, str]]) -> Answer:
    """One judge request, retried on 429, 5xx, timeouts and connection errors."""
    body: dict[str, Any] = {
        "model": config.model,
        "messages": messages,
        "temperature": 0,
        "max_tokens": judge.MAX_TOKENS,
    }
    headers = {"authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    error = "not tried"
    for attempt in range(1, config.retries + 2):
        wait = config.backoff * 2 ** (attempt - 1) * (0.5 + random.random() / 2)
        try:
            response = client.post(config.url, json=body, headers=headers)
        except httpx.TimeoutException:
            error = f"timed out after {config.timeout:g}s"
        except httpx.TransportError as exc:
            error = f"connection failed: {exc}"
        else:
            status = response.status_code
            if status == 200:
                found = _content(response)
                if isinstance(found, str):
                    return Answer(None, found, attempt)
                return Answer(found.text, None, attempt, found.input_tokens, found.output_tokens)
            error = f"HTTP {status}: {_message(response)}"
            if status != 429 and status < 500:
                return Answer(None, error, attempt)
            asked = retry_after(response)
            if asked is not None:
                if asked > config.max_wait:
                    return Answer(None, f"{error} (Retry-After {asked:g}s)", attempt)
                wait = asked
        if attempt <= config.retries:
            time.sleep(min(wait, config.max_wait))
    return Answer(None, f"{error} ({config.retries + 1} attempts)", config.retries + 1)


def _row(span: dict[str, Any], answer: Answer, config: JudgeConfig) -> dict[str, Any]:
    details: dict[str, Any] = {
        "judge_model": config.model,
        "attempts": answer.attempts,
        "input_tokens": answer.input_tokens,
        "output_tokens": answer.output_tokens,
    }
    score = label = None
    explanation: str | None
    if answer.error is None:
        try:
            verdict = judge.parse_verdict(answer.text, config.prompt)
        except judge.MalformedVerdict as exc:
            answer = Answer(None, f"malformed verdict: {exc}", answer.attempts)
        else:
            score, label, explanation = verdict.score, verdict.label, verdict.explanation
    if answer.error is not None:
        details["error"] = answer.error
        explanation = f"error: {answer.error}"
    return {
        "trace_id": span["trace_id"],
        "span_id": span["span_id"],
        "time": span["time"],
        "score": score,
        "label": label,
        "explanation": explanation,
        "details": json.dumps(details),
    }


def run(
    plan: JudgePlan,
    config: JudgeConfig,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> pl.DataFrame:
    """Ask the judge about every planned span; the results in the evaluations columns."""
    spans = plan.inputs.to_dicts()
    prompt = config.prompt

    def one(span: dict[str, Any]) -> dict[str, Any]:
        asked = judge.messages(prompt, span["question"], span["answer"], span["reference"])
        row = _row(span, ask(client, config, asked), config)
        if progress is not None:
            progress(1)
        return row

    limits = httpx.Limits(max_connections=config.concurrency)
    with (
        httpx.Client(timeout=config.timeout, limits=limits) as client,
        ThreadPoolExecutor(max_workers=config.concurrency) as pool,
    ):
        rows = list(pool.map(one, spans))
    frame = pl.DataFrame(
        rows,
        schema={
            c: EVALUATIONS[c]
            for c in ("trace_id", "span_id", "time", "score", "label", "explanation", "details")
        },
        orient="row",
    )
    return frame.with_columns(
        pl.lit(prompt.name).alias("evaluator"),
        pl.lit(config.version).alias("version"),
        pl.lit(now).dt.cast_time_unit("ns").alias("created_at"),
    ).select(list(EVALUATIONS))


def store(root: Path, results: pl.DataFrame) -> int:
    """Store ``results``; an error never replaces a score already stored for its span."""
    if results.height == 0:
        return 0
    name = results.get_column("evaluator")[0]
    errors = results.filter(pl.col("score").is_null())
    if errors.height:
        scored = (
            scan_evaluations(root)
            .filter((pl.col("evaluator") == name) & pl.col("score").is_not_null())
            .select("trace_id", "span_id", "evaluator", "version")
        )
        keep = errors.lazy().join(
            scored, on=["trace_id", "span_id", "evaluator", "version"], how="anti"
        )
        results = pl.concat([results.filter(pl.col("score").is_not_null()), keep.collect()])
    if results.height == 0:
        return 0
    return write_evaluations(root, name, results)
