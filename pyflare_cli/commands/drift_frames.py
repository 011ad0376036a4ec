"""The two feature frames ``pyflare drift`` compares: the reference (a window, or a baseline
file) and the current window, each read through a sampler (Polars or another engine:
:mod:`engine.drift`), with the exit-2 checks on what they hold.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pyflare_cli.clock import now
from pyflare_cli.errors import UsageError

if TYPE_CHECKING:
    import polars as pl

    from pyflare_cli.analysis.cost.price_rules import PriceRule
    from pyflare_cli.commands.drift_plan import Plan
    from pyflare_cli.engine.drift import Sampler
    from pyflare_cli.query.windows import Window


def reference_frame(
    sample: Sampler,
    plan: Plan,
    baseline: Path | None,
    reference: str | None,
    reference_days: int,
    current: Window,
    where: str | None,
    at: datetime,
    model: str | None,
    rules: tuple[PriceRule, ...],
) -> tuple[pl.DataFrame, str]:
    """The reference feature frame and how to name it in the report."""
    from pyflare_cli.analysis.drift.features import model_filter
    from pyflare_cli.query.drift_samples import features_of, load_baseline
    from pyflare_cli.query.windows import reference_window

    pairs = plan.settings.concept
    if baseline is not None:
        if reference:
            raise UsageError("--baseline and --reference are exclusive: pick one reference")
        spans, meta = load_baseline(baseline)
        if (where or None) != (meta.get("where") or None):
            saved = meta.get("where") or "none"
            raise UsageError(
                f"--baseline {baseline} was saved with --where {saved!r}: pass the same filter"
            )
        lazy = spans.lazy().filter(model_filter(model))
        frame = features_of(lazy, plan.features, pairs).collect()
        if model and frame.height == 0 and meta.get("model") not in (None, model):
            raise UsageError(f"--baseline {baseline}: it holds {meta['model']}, not {model}")
        return frame, f"baseline {baseline.name} ({meta.get('window', '?')})"
    window = reference_window(reference, reference_days, current, at)
    spans_ref = sample(window, where, at, rules, model)
    return features_of(spans_ref, plan.features, pairs).collect(), window.label()


def samples(
    plan: Plan,
    sample: Sampler,
    rules: tuple[PriceRule, ...],
    since: str,
    until: str | None,
    reference: str | None,
    reference_days: int,
    baseline: Path | None,
    where: str | None,
    model: str | None,
) -> tuple[pl.DataFrame, str, pl.DataFrame, Window]:
    """Reference and current feature frames; exit 2 when a named model has no spans."""
    from pyflare_cli.query.drift_samples import features_of
    from pyflare_cli.query.windows import current_window

    at = now()
    window = current_window(since, until, at)
    ref, ref_label = reference_frame(
        sample, plan, baseline, reference, reference_days, window, where, at, model, rules
    )
    spans = sample(window, where, at, rules, model)
    cur = features_of(spans, plan.features, plan.settings.concept).collect()
    if cur.height == 0 or ref.height == 0:
        empty = f"current window {window.label()}" if cur.height == 0 else f"reference {ref_label}"
        who = f"--model {model}" if model else "--all-models"
        raise UsageError(f"{who}: no model calls in the {empty}; see `pyflare cost --by model`")
    return ref, ref_label, cur, window
