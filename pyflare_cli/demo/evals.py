"""batch-evaluator's job traces: LLM-as-judge scores linked to the chat traces they grade.

Evaluations are separate traces that point at what they evaluate through span *links*, which
is how pyflare sees cross-trace relations (and why the store keeps ``links``). Each evaluator
span carries the OTel GenAI ``gen_ai.evaluation.*`` attributes and a judge model call.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.proto.trace.v1.trace_pb2 import Status

from pyflare_cli.demo import text
from pyflare_cli.demo.llm import draw_call, genai_chat
from pyflare_cli.demo.scenario import BATCH_EVALUATOR, SCOPE_EVALUATOR
from pyflare_cli.demo.spans import INTERNAL, Trace, event, ns, put

METRICS = ("faithfulness", "answer_relevance", "helpfulness")
WORKERS = 3


@dataclass(frozen=True)
class Evaluated:
    """A finished chat trace an evaluator may link to."""

    trace_id: bytes
    root_span_id: bytes
    failed: bool
    end_ns: int


def eval_trace(tr: Trace, t0: int, targets: list[Evaluated]) -> None:
    """One evaluation run over ``targets``, ``WORKERS`` evaluations at a time."""
    rng, world = tr.rng, tr.world
    root = tr.start(
        BATCH_EVALUATOR, SCOPE_EVALUATOR, "run evaluation support-quality", INTERNAL, b"", t0
    )
    judge = world.model(world.judge_model)
    lanes = [t0 + ns(rng.uniform(5, 40))] * WORKERS
    for i, target in enumerate(targets):
        lane = i % WORKERS
        metric = METRICS[i % len(METRICS)]
        start = lanes[lane]
        span = tr.start(
            BATCH_EVALUATOR, SCOPE_EVALUATOR, f"evaluate {metric}", INTERNAL, root.span_id, start
        )
        put(span, (("openinference.span.kind", "EVALUATOR"),))
        link = span.links.add()
        link.trace_id = target.trace_id
        link.span_id = target.root_span_id
        kv = link.attributes.add()
        kv.key = "app.link.relation"
        kv.value.string_value = "evaluates"
        call = draw_call(tr, judge, "judge")
        score = rng.betavariate(8, 2) * (0.45 if target.failed else 1.0)
        prompt = f"Grade the {metric} of the answer in trace {target.trace_id.hex()}."
        answer = f'{{"score": {score:.2f}}}'
        end = genai_chat(
            tr,
            BATCH_EVALUATOR,
            span.span_id,
            start + ns(rng.uniform(1, 4)),
            call,
            prompt,
            answer=answer,
        )
        end += ns(rng.uniform(0.5, 3.0))
        span.end_time_unix_nano = end
        lanes[lane] = end + ns(rng.uniform(0.5, 5.0))
        if call.error is not None:
            span.status.code = Status.StatusCode.STATUS_CODE_ERROR
            span.status.message = f"judge call failed: {call.error.type}"
            put(span, (("gen_ai.evaluation.name", metric), ("error.type", call.error.type)))
            continue
        label = "pass" if score >= 0.7 else "fail"
        result = (
            ("gen_ai.evaluation.name", metric),
            ("gen_ai.evaluation.score.value", round(score, 4)),
            ("gen_ai.evaluation.score.label", label),
            ("gen_ai.evaluation.explanation", text.text(rng, 120)),
        )
        put(span, result)
        event(span, "gen_ai.evaluation.result", end, result)
        span.status.code = Status.StatusCode.STATUS_CODE_OK
    end = max(lanes) + ns(rng.uniform(1, 10))
    root.end_time_unix_nano = end
    put(
        root,
        [
            ("app.eval.suite", "support-quality"),
            ("app.eval.batch_size", len(targets)),
            ("app.eval.trigger", "schedule"),
            ("app.eval.sampling_rate", 0.05),
        ],
    )
    root.status.code = Status.StatusCode.STATUS_CODE_OK
