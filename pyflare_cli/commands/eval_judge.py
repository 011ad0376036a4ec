"""``pyflare eval run judge``: check the options, show the cost, ask, run, store, report.

Kept apart from :mod:`commands.eval` because the judge is the one evaluator that spends
money and talks to the network: the estimate and the confirmation live here. Nothing is
sent before the user (or ``--yes``) agreed to the printed estimate; with stdin not a
terminal there is nobody to ask, so ``--yes`` is required (exit 2 otherwise).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pyflare_cli.errors import UsageError

if TYPE_CHECKING:
    from pyflare_cli.query.spans import SpanQuery


@dataclass(frozen=True)
class JudgeOptions:
    endpoint: str | None
    model: str | None
    prompt: str
    api_key_env: str
    concurrency: int
    retries: int
    timeout: float
    yes: bool


def _check(options: JudgeOptions) -> tuple[str, str, str]:
    """(endpoint, model, key) or exit 2 naming the option."""
    from pyflare_cli.analysis.eval.judge import PROMPTS

    if not options.endpoint:
        raise UsageError("eval run judge: give --endpoint URL (an OpenAI-compatible base URL)")
    if not options.endpoint.startswith(("http://", "https://")):
        raise UsageError(f"--endpoint {options.endpoint!r}: use an http:// or https:// URL")
    if not options.model:
        raise UsageError("eval run judge: give --model NAME (the judge model)")
    if options.prompt not in PROMPTS:
        raise UsageError(f"--prompt {options.prompt!r}: use {', '.join(PROMPTS)}")
    key = os.environ.get(options.api_key_env)
    if not key:
        raise UsageError(
            f"eval run judge: ${options.api_key_env} is not set (export the key, or name "
            "another variable with --api-key-env)"
        )
    return options.endpoint, options.model, key


def _confirm(yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(
            "eval run judge: stdin is not a terminal, nobody can confirm the cost: pass --yes"
        )
    return typer.confirm("Send these requests?", default=False, err=True)


def run_judge(
    root: Path,
    query: SpanQuery,
    at: datetime,
    sample: int | None,
    options: JudgeOptions,
    config: Path | None,
    prices: Path | None,
    fmt: str,
) -> None:
    from pyflare_cli.analysis.eval.judge import ANSWER_TOKENS, MAX_TOKENS, PROMPTS
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query import judge
    from pyflare_cli.query.prices import price_rules
    from pyflare_cli.render.eval import emit_judge_plan, emit_judge_run, emit_run
    from pyflare_cli.render.output import console

    endpoint, model, key = _check(options)
    prompt = PROMPTS[options.prompt]
    rules, _ = price_rules(load_config(config), prices)
    planned = judge.plan(root, query, at, sample, prompt)
    typical = judge.estimate_cost(planned, model, ANSWER_TOKENS, root, rules)
    most = judge.estimate_cost(planned, model, MAX_TOKENS, root, rules)
    err = console(sys.stderr)
    emit_judge_plan(planned, prompt.name, model, endpoint, typical, most, err)
    if planned.requests == 0 or not _confirm(options.yes):
        if planned.requests:
            err.print("cancelled: nothing was sent", markup=False)
        return
    settings = judge.JudgeConfig(
        endpoint,
        model,
        key,
        prompt,
        concurrency=options.concurrency,
        retries=options.retries,
        timeout=options.timeout,
    )
    results = judge.run(planned, settings, at)
    judge.store(root, results)
    emit_run(results, prompt.name, fmt, console())
    emit_judge_run(results, judge.usage(results, model, root, rules), err)
