"""A gate's verdict for CI: one stable JSON shape and a Markdown step summary for every gate.

``cost check``, ``drift`` and ``alert check`` all answer the same question (did every
limit hold?), so they speak one format: a top-level ``verdict`` (``pass`` or ``fail``),
the gate's name and window, one entry per check (its name, limit, value, whether it
passed and the offending groups), and warnings (unpriced or empty data). The shape is
documented in docs/cost.md ("The verdict for CI") and kept by tests; Markdown rounds
numbers for people and never prints ``nan`` or exponent notation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

VERDICT_VERSION = 1


@dataclass(frozen=True)
class Check:
    """One limit of a gate and what the data said."""

    name: str
    passed: bool
    limit: Any = None
    value: Any = None
    unit: str = ""
    """``usd``, ``share``, ``count`` or '' (how Markdown shows limit and value)."""
    detail: str = ""
    offending: Sequence[dict[str, Any]] = ()


@dataclass(frozen=True)
class Verdict:
    """Every check of one gate run."""

    gate: str
    checks: Sequence[Check]
    since: str | None = None
    until: str | None = None
    warnings: Sequence[str] = field(default_factory=tuple)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null, floats keep 6 significant decimals."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, 6)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def as_json(verdict: Verdict) -> str:
    payload = {
        "version": VERDICT_VERSION,
        "verdict": "pass" if verdict.passed else "fail",
        "gate": verdict.gate,
        "since": verdict.since,
        "until": verdict.until,
        "checks": [
            {
                "name": c.name,
                "passed": c.passed,
                "limit": c.limit,
                "value": c.value,
                "unit": c.unit,
                "detail": c.detail,
                "offending": list(c.offending),
            }
            for c in verdict.checks
        ],
        "warnings": list(verdict.warnings),
        **verdict.extra,
    }
    return json.dumps(_clean(payload), indent=2)


def human(value: Any, unit: str = "") -> str:
    """A number as a person reads it: $1.23, 45%, 1,234, 0.0123; '-' when absent."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"${value:,}" if unit == "usd" else f"{value:,}"
    if isinstance(value, float):
        if unit == "usd":
            return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.4f}".rstrip("0")
        if unit == "share":
            return f"{value:.0%}"
        if value == 0 or abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:,.2f}"
        return f"{value:.3g}" if abs(value) >= 0.001 else f"{value:.6f}".rstrip("0")
    return str(value).replace("|", "\\|").replace("\n", " ")


def as_markdown(verdict: Verdict) -> str:
    mark = "PASS" if verdict.passed else "FAIL"
    failed = [c.name for c in verdict.checks if not c.passed]
    window = f" ({verdict.since} .. {verdict.until})" if verdict.since or verdict.until else ""
    head = f"**{mark}** `{verdict.gate}`{window}"
    head += f": {len(failed)} of {len(verdict.checks)} checks failed" if failed else ""
    lines = [head, ""]
    if verdict.checks:
        lines += ["| check | limit | value | result |", "|---|---|---|---|"]
        for c in verdict.checks:
            result = "pass" if c.passed else "**fail**"
            if c.detail:
                result += f" - {human(c.detail)}"
            lines.append(
                f"| {human(c.name)} | {human(c.limit, c.unit)} | {human(c.value, c.unit)} "
                f"| {result} |"
            )
    for c in verdict.checks:
        if c.offending and not c.passed:
            keys = list(c.offending[0])
            lines += ["", f"Offending ({human(c.name)}):", ""]
            lines += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
            for row in c.offending[:10]:
                lines.append(
                    "| "
                    + " | ".join(
                        human(row.get(k), "usd" if k.endswith("usd") else "") for k in keys
                    )
                    + " |"
                )
    if verdict.warnings:
        lines += [""] + [f"> warning: {human(w)}" for w in verdict.warnings]
    return "\n".join(lines)


def emit_verdict(out: Console, verdict: Verdict, fmt: str) -> bool:
    """Print the verdict as JSON or Markdown; False for other formats (the caller's text)."""
    if fmt == "json":
        out.print(as_json(verdict), markup=False, soft_wrap=True, highlight=False)
        return True
    if fmt == "markdown":
        out.print(as_markdown(verdict), markup=False, soft_wrap=True, highlight=False)
        return True
    return False
