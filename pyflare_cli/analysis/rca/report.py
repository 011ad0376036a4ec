"""`pyflare rca` in one pure function: target and baseline spans in, the whole report out.

Runs the analyses in order: problematic slices (:mod:`slices`), change attribution
(:mod:`changes`), failure clusters (:mod:`failures`), latency attribution
(:mod:`latency`, for the latency metric), and the ranked root causes built from them
(:mod:`causes`). The command and the TUI render the same :class:`RcaReport`.
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.rca.causes import root_causes
from pyflare_cli.analysis.rca.changes import new_values
from pyflare_cli.analysis.rca.dimensions import Dimension, dimension_frame, discover
from pyflare_cli.analysis.rca.failures import error_message, failure_clusters
from pyflare_cli.analysis.rca.latency import ATTRIBUTION_SCHEMA, latency_attribution
from pyflare_cli.analysis.rca.model import RcaReport, RcaSettings
from pyflare_cli.analysis.rca.slices import SliceSettings, find_slices, totals


def analyse(target: pl.DataFrame, baseline: pl.DataFrame, settings: RcaSettings) -> RcaReport:
    """The report for spans ``target`` against ``baseline`` (full span frames, with cost)."""
    spans = pl.concat(
        [
            target.with_columns(pl.lit(True).alias("target")),
            baseline.with_columns(pl.lit(False).alias("target")),
        ],
        how="diagonal_relaxed",
    )
    dimensions = discover(spans)
    known = {d.name for d in dimensions}
    for name in settings.extra_dimensions:
        if name not in known and name.startswith(("attr.", "resource.")):
            column = "attributes" if name.startswith("attr.") else "resource_attributes"
            key = name.split(".", 1)[1]
            dimensions.append(Dimension(name, pl.col(column).map.get(key)))
    frame, kept = dimension_frame(spans, dimensions, settings.metric)
    binary = settings.metric == "errors"
    slice_settings = SliceSettings(
        binary=binary,
        min_size=settings.min_size,
        max_order=settings.max_order,
        alpha=settings.alpha,
        correction="bonferroni" if settings.correction == "bonferroni" else "fdr",
    )
    slices = find_slices(frame, kept, slice_settings)
    changes = new_values(frame, kept, binary, settings.min_size)
    errors = (
        spans.lazy()  # select first, so the filter copies five columns, not every map
        .select(
            "target",
            "trace_id",
            "span_id",
            "start_time",
            "status_code",
            error_message().alias("message"),
        )
        .filter(pl.col("status_code") == "error")
        .select("target", "trace_id", "span_id", "start_time", pl.col("message"))
        .collect()
    )
    clusters = failure_clusters(errors, frame.filter(pl.col("target")), kept, settings.top)
    latency, slow, threshold = pl.DataFrame(schema=ATTRIBUTION_SCHEMA), 0, 0.0
    if settings.metric == "latency":
        latency, slow, threshold = latency_attribution(target, baseline, settings.seed)
    report = RcaReport(
        metric=settings.metric,
        totals=totals(frame),
        dimensions=kept,
        slices=slices,
        tested=slices.height,
        changes=changes,
        clusters=clusters,
        latency=latency,
        slow_traces=slow,
        slow_threshold_ms=threshold,
    )
    examples = _slice_examples(frame, report.significant.head(settings.top))
    return RcaReport(**{**report.__dict__, "causes": root_causes(report, examples, settings.alpha)})


def _slice_examples(frame: pl.DataFrame, slices: pl.DataFrame) -> dict[str, list[str]]:
    """Up to three target trace ids per slice, worst spans first."""
    found: dict[str, list[str]] = {}
    target = frame.filter(pl.col("target"))
    for name, conditions in slices.select("slice", "conditions").iter_rows():
        condition = pl.lit(True)
        for text in conditions:
            key, value = text.split(" = ", 1)
            condition = condition & (pl.col(key) == value)
        ids = (
            target.filter(condition)
            .sort("y", descending=True)
            .get_column("trace_id")
            .unique(maintain_order=True)
            .head(3)
        )
        found[name] = ids.to_list()
    return found
