"""The drift section: per model the verdict, and per feature the score and the reference
vs current distributions (overlaid histograms).

As ``pyflare drift --all-models`` with the built-in features and the default settings
(concept drift of errors given the prompt length included),
the reference being the window of the same length before the report's window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyflare_cli.errors import PyflareError
from pyflare_cli.report import charts, text
from pyflare_cli.report.context import ReportContext
from pyflare_cli.report.model import Chart, Section, Table

if TYPE_CHECKING:
    import polars as pl

    from pyflare_cli.analysis.drift.features import Feature
    from pyflare_cli.analysis.drift.model import DriftReport, DriftSettings
    from pyflare_cli.config.drift import DriftConfig

MODELS = 4
"""Models compared, the busiest first (each costs 0.3-2 s of tests on a million spans)."""
PANELS = 6
"""Histograms drawn per model: the drifted features first, then by score."""


def drift(ctx: ReportContext) -> Section:
    from pyflare_cli.analysis.drift.report import compare
    from pyflare_cli.config.drift import DriftConfig
    from pyflare_cli.query.drift_samples import features_of, model_sample

    features, settings = _plan(ctx.drift or DriftConfig())
    reference = ctx.window.previous()
    ref, cur = (
        features_of(
            model_sample(ctx.root, w, ctx.where, ctx.now, ctx.rules), features, settings.concept
        )
        for w in (reference, ctx.window)
    )
    cur_frame = cur.collect()
    if cur_frame.height == 0:
        raise PyflareError(f"no model calls in {ctx.window.label()}")
    busiest = (
        cur_frame.group_by("model")
        .len()
        .sort(["len", "model"], descending=[True, False])
        .get_column("model")
        .drop_nulls()
        .head(MODELS)
        .to_list()
    )
    # Each window split by model as soon as it is read, the whole frame dropped: a model's
    # calls are then held once (not the window and the model's copy at once), and each
    # model's part is freed when it is compared.
    current = _by_model(cur_frame, busiest)
    del cur_frame
    ref_frame = ref.collect()
    none_before = ref_frame.clear()
    previous = _by_model(ref_frame, busiest)
    del ref_frame
    reports = []
    for name in busiest:
        before = previous.pop(name, none_before)
        reports.append(compare(name, before, current.pop(name), features, settings))
    return section_of(reports, reference.label(), ctx.window.label())


def _by_model(frame: pl.DataFrame, models: list[str]) -> dict[str, pl.DataFrame]:
    import polars as pl

    kept = frame.filter(pl.col("model").is_in(models))
    return {str(k[0]): part for k, part in kept.partition_by("model", as_dict=True).items()}


def _plan(config: DriftConfig) -> tuple[list[Feature], DriftSettings]:
    """The features and settings ``pyflare drift`` uses without options
    (commands/drift_plan.py): the built-in features, the config's features and those
    under a condition, its methods and thresholds; errors (or the config's outcome)
    conditioned on the prompt length (and tokens) as the concept drift test."""
    from pyflare_cli.analysis.drift.concept import ConceptPair
    from pyflare_cli.analysis.drift.features import BUILT_IN, parse_feature
    from pyflare_cli.analysis.drift.model import DriftSettings

    names = [f.name for f in BUILT_IN] + list(config.features)
    names += [c.feature for c in config.conditions]
    features = [parse_feature(n) for n in dict.fromkeys(names)]
    outcome = config.outcome or "error"
    inputs = ("prompt_chars",) if outcome == "error" else ("input_tokens", "prompt_chars")
    compared = {f.name for f in features}
    settings = DriftSettings(
        methods=dict(config.methods),
        thresholds=dict(config.thresholds),
        drift_share=config.drift_share or 0.5,
        min_samples=config.min_samples or 30,
        correction=config.correction or "none",
        concept=tuple(ConceptPair(n, outcome) for n in inputs if n in compared),
    )
    return features, settings


def section_of(reports: list[DriftReport], reference: str, current: str) -> Section:
    """The section of drift reports (also ``pyflare drift --html``)."""
    if not reports:
        raise PyflareError("no model to compare")
    summary: list[list[Any]] = [
        [
            r.model,
            r.verdict,
            f"{r.drifted} of {r.tested}",
            text.count(r.n_reference),
            text.count(r.n_current),
        ]
        for r in reports
    ]
    tables = [
        Table(
            "Verdict per model",
            ["model", "verdict", "drifted features", "reference calls", "current calls"],
            summary,
            frozenset({2, 3, 4}),
        )
    ]
    chart_list: list[Chart] = []
    for r in reports:
        rows: list[list[Any]] = [
            [
                str(f["feature"]),
                str(f["method"] or "-"),
                "-" if f["score"] is None else f"{f['score']:.3g}",
                "-" if f["threshold"] is None else f"{f['threshold']:.3g}",
                str(f["status"]),
                str(f["reference"] or "-"),
                str(f["current"] or "-"),
            ]
            for f in r.features.iter_rows(named=True)
        ]
        tables.append(
            Table(
                f"{r.model}: {r.verdict}",
                ["feature", "method", "score", "threshold", "status", "reference", "current"],
                rows,
                frozenset({2, 3}),
            )
        )
        hist = _histograms(r)
        if hist:
            key = "drift-" + "".join(c if c.isalnum() else "-" for c in r.model)[:40]
            chart_list.append(
                Chart(
                    f"{key}-{len(chart_list)}",
                    f"{r.model}: reference vs current",
                    charts.overlaid_histograms(
                        "feature", list(dict.fromkeys(h["feature"] for h in hist))
                    ),
                    hist,
                )
            )
    verdicts = [
        f"{verdict}: {', '.join(r.model for r in reports if r.verdict == verdict)}"
        for verdict in ("drifted", "warning", "insufficient data")
        if any(r.verdict == verdict for r in reports)
    ]
    lead = f"{len(reports)} model(s), current {current} against reference {reference}. " + (
        "; ".join(verdicts) + "." if verdicts else "None drifted."
    )
    return Section("drift", "Drift", lead, charts=chart_list, tables=tables)


def _histograms(report: DriftReport) -> list[dict[str, Any]]:
    """One row per feature, sample and bin: the share of values in that bin, for the
    :data:`PANELS` features that drifted or came closest to their threshold."""
    import polars as pl

    drawn = report.features.filter(pl.col("reference_hist").list.len() > 0).sort(
        [pl.col("status") == "drifted", pl.col("score") / pl.col("threshold")],
        descending=True,
        nulls_last=True,
    )
    rows: list[dict[str, Any]] = []
    for f in drawn.head(PANELS).iter_rows(named=True):
        name = f"{f['feature']} ({f['status']})"
        for sample in ("reference", "current"):
            for i, value in enumerate(f[f"{sample}_hist"] or []):
                rows.append({"feature": name, "sample": sample, "bin": i + 1, "share": value})
    return rows
