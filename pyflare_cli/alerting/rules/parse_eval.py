"""Reading an ``eval:`` condition: an evaluator's mean score, pass rate or count in the window.

```yaml
- alert: LowFaithfulness
  eval: {evaluator: faithfulness, aggregate: mean, op: "<", value: 0.8, by: [model]}
  window: 1h
- alert: ToxicOutputs
  eval: {evaluator: toxicity, aggregate: pass_rate, pass_max: 0.2, op: "<", value: 0.95,
         min_results: 20, no_data: alerting}
```

The scores are those of ``pyflare eval`` (every convention in one table); what the
condition holds is :class:`rules.model.EvalCondition`.
"""

from __future__ import annotations

from typing import Any

from pyflare_cli.alerting.rules.checks import Where, by, keys, number, op, query
from pyflare_cli.alerting.rules.model import EVAL_AGGREGATES, NO_DATA, EvalCondition
from pyflare_cli.analysis.search.compile import parse as parse_query
from pyflare_cli.analysis.search.compile import uses_scores

EVAL_KEYS = {
    "evaluator", "aggregate", "op", "value", "where", "by", "pass_min", "pass_max",
    "min_results", "no_data",
}  # fmt: skip


def eval_condition(section: dict[str, Any], where: Where) -> EvalCondition:
    """Check an ``eval:`` mapping (exit 2 naming the file, line and key when it is wrong)."""
    keys(section, EVAL_KEYS, where, "eval")
    evaluator = section.get("evaluator")
    if not isinstance(evaluator, str) or not evaluator.strip():
        raise where.error("eval.evaluator must name an evaluator (faithfulness, pii, ...)")
    aggregate = section.get("aggregate", "mean")
    if aggregate not in EVAL_AGGREGATES:
        raise where.error(f"eval.aggregate {aggregate!r}: use {', '.join(EVAL_AGGREGATES)}")
    bounds = {k: number(section[k], where, f"eval.{k}") for k in ("pass_min", "pass_max")
              if section.get(k) is not None}  # fmt: skip
    if len(bounds) > 1:
        raise where.error("eval: give pass_min or pass_max, not both")
    if bounds and aggregate != "pass_rate":
        raise where.error(f"eval.{next(iter(bounds))} only goes with aggregate: pass_rate")
    value = number(section.get("value"), where, "eval.value")
    if aggregate == "pass_rate" and not 0 <= value <= 1:
        raise where.error(f"eval.value {value:g}: a pass rate is between 0 and 1")
    min_results = section.get("min_results", 1)
    if isinstance(min_results, bool) or not isinstance(min_results, int) or min_results < 1:
        raise where.error(f"eval.min_results must be an integer >= 1, not {min_results!r}")
    no_data = section.get("no_data", "error")
    if no_data not in NO_DATA:
        raise where.error(f"eval.no_data {no_data!r}: use {' or '.join(NO_DATA)}")
    text = query(section.get("where"), where, "eval.where")
    if text is not None and uses_scores(parse_query(text)):
        raise where.error("eval.where: an eval.<name> term cannot filter an eval condition")
    return EvalCondition(
        evaluator=evaluator.strip(),
        op=op(section.get("op"), where, "eval"),
        value=value,
        aggregate=str(aggregate),
        where=text,
        by=by(section.get("by"), where),
        pass_min=bounds.get("pass_min"),
        pass_max=bounds.get("pass_max"),
        min_results=min_results,
        no_data=str(no_data),
    )
