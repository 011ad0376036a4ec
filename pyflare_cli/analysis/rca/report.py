"""`pyflare rca` in one pure function: target and baseline spans in, the whole report out.

Runs the analyses in order: the unit frame (:mod:`units`: what counts as a failure),
problematic slices (:mod:`slices`), change attribution (:mod:`changes`, baseline
comparisons only), failure clusters (:mod:`failures`), latency attribution (:mod:`latency`,
for the latency metric), and the ranked root causes built from them (:mod:`causes`).

The inputs may be lazy: the windows are read in grouped passes and never held whole; only
the attribute keys (counted) and a sample (:mod:`probe`, to discover dimensions), the error
rows (projected, for templates) and small per-slice answers are collected. The command and
the TUI render the same :class:`RcaReport`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pyflare_cli.analysis.rca.causes import root_causes
from pyflare_cli.analysis.rca.changes import CHANGE_SCHEMA, change_table
from pyflare_cli.analysis.rca.dimensions import NONE, OTHER, Dimension, discover, extra_dimension
from pyflare_cli.analysis.rca.failures import failure_clusters
from pyflare_cli.analysis.rca.latency import ATTRIBUTION_SCHEMA, latency_attribution
from pyflare_cli.analysis.rca.model import RcaReport, RcaSettings
from pyflare_cli.analysis.rca.passes import crossing_counts
from pyflare_cli.analysis.rca.probe import PROBE as PROBE  # engines read it here
from pyflare_cli.analysis.rca.probe import (
    key_coverage,
    key_sets,
    probe_dimensions,
    revised,
    without_key_sets,
)
from pyflare_cli.analysis.rca.rows import RowReader
from pyflare_cli.analysis.rca.scan import ScanRows, scan_cube
from pyflare_cli.analysis.rca.scoring import TEST_TERMS
from pyflare_cli.analysis.rca.slices import SliceSettings, find_slices
from pyflare_cli.analysis.rca.stats import fisher_mid_p, welch_above
from pyflare_cli.analysis.rca.trace_cube import trace_cube
from pyflare_cli.analysis.rca.units import per_trace, unit_metric, unit_rows, windows


def analyse(
    target: pl.LazyFrame | pl.DataFrame,
    baseline: pl.LazyFrame | pl.DataFrame,
    settings: RcaSettings,
    history: pl.LazyFrame | None = None,
) -> RcaReport:
    """The report for spans ``target`` against ``baseline`` (span frames, with cost).

    ``history``: spans before the target window, where a new value's first sighting is
    looked up (None: only the two windows are known).
    """
    target, baseline = target.lazy(), baseline.lazy()
    probed = probe_dimensions(target, baseline, settings)
    dimensions = probed.dimensions
    spans = windows(target, baseline)
    binary = settings.metric == "errors"
    source = unit_metric(spans, settings.metric, settings.unit)
    # the cube and the error rows in one grouped pass over the scan; the slice passes
    # read the cube (a few thousand rows) and no row frame is held. The same pass counts
    # the attribute keys over the whole windows, which may correct the sample's dimensions.
    origin_errors = binary and settings.unit == "origin"
    counting = [*dimensions, *key_sets(probed)]
    found, errors = scan_cube(spans, counting, settings.metric, source, origin_errors)
    better = None
    if len(counting) > len(dimensions):
        better = revised(target, baseline, settings, probed, key_coverage(found, probed.maps))
    if better is None:
        found, errors = without_key_sets(found, errors, dimensions)
    else:
        dimensions = better
        found, errors = scan_cube(spans, dimensions, settings.metric, source, origin_errors)
    traces = per_trace(settings.unit)
    if traces and not isinstance(source, pl.Expr):  # distinct traces: the trace cube
        counted = trace_cube(spans, dimensions, settings.metric, found, source[0])
    else:
        counted = found.drop("first").lazy()
    mine = unit_rows(
        target.with_columns(pl.lit(True).alias("target")), dimensions, settings.metric, source
    )
    rows: RowReader = ScanRows(mine, found, errors, history, binary, traces)
    return report_of(counted, dimensions, settings, rows, (target, baseline))


def report_of(
    counted: pl.LazyFrame,
    dimensions: list[Dimension],
    settings: RcaSettings,
    rows: RowReader,
    spans: tuple[pl.LazyFrame, pl.LazyFrame] | None = None,
) -> RcaReport:
    """The report from the cube (``counted``; the unit rows for ``--unit trace``) and the
    few row answers ``rows`` gives: the same statistics whichever engine counted.

    ``spans``: the target and baseline spans, for the latency attribution (None: not
    available; ``--metric latency`` needs them)."""
    names = [d.name for d in dimensions]
    binary = settings.metric == "errors"
    slice_settings = SliceSettings(
        binary=binary,
        min_size=settings.min_size,
        max_order=settings.max_order,
        alpha=settings.alpha,
        correction="bonferroni" if settings.correction == "bonferroni" else "fdr",
        per_trace=per_trace(settings.unit),
    )
    search = find_slices(counted, names, slice_settings)
    kept = [d for d in dimensions if d.name in search.dimensions]
    changes = pl.DataFrame(schema=CHANGE_SCHEMA)
    if not settings.vs_rest:
        changes = change_table(search.slices, kept, rows)
    errors = rows.error_rows(kept)
    clusters = failure_clusters(errors, search.singles, search.dimensions, settings.top)
    latency, slow, threshold = pl.DataFrame(schema=ATTRIBUTION_SCHEMA), 0, 0.0
    if settings.metric == "latency":
        if spans is None:
            raise ValueError("--metric latency needs the spans for its attribution")
        latency, slow, threshold = latency_attribution(*spans, settings.seed)
    report = RcaReport(
        metric=settings.metric,
        totals=search.totals,
        dimensions=search.dimensions,
        slices=search.slices,
        tested=search.tested,
        changes=changes,
        clusters=clusters,
        latency=latency,
        slow_traces=slow,
        slow_threshold_ms=threshold,
    )
    lead = report.significant.head(3)
    examples = rows.examples(lead, errors)
    onsets = _onsets(rows, kept, lead, changes, slice_settings)
    within = _within(counted, lead, search.dimensions, slice_settings.per_trace)
    causes = root_causes(report, examples, settings.alpha, onsets, within)
    return RcaReport(**{**report.__dict__, "causes": causes})


def _within(
    frame: pl.LazyFrame, lead: pl.DataFrame, dimensions: list[str], per_trace: bool
) -> dict[str, list[str]]:
    """Per lead slice, the values (of dimensions it does not name) that every one of its
    target rows has: a version deployed in one region is "all in region = eu-west-1".
    One pass over the lead slices' rows."""
    if lead.height == 0:
        return {}
    conditions = [[tuple(c.split(" = ", 1)) for c in cs] for cs in lead["conditions"]]
    counts = crossing_counts(frame.filter(pl.col("target")), conditions, dimensions, per_trace)
    sizes = lead.get_column("n_target").to_list()
    place = {d: i for i, d in enumerate(dimensions)}  # the report's order, not a group-by's
    found: dict[str, list[str]] = {}
    for i, (name, named) in enumerate(lead.select("slice", "conditions").iter_rows()):
        keys = {c.split(" = ", 1)[0] for c in named}
        whole = counts.filter(
            (pl.col("seed") == i)
            & (pl.col("nt") >= sizes[i])
            & ~pl.col("dimension").is_in(sorted(keys))
            & ~pl.col("value").is_in([NONE, OTHER])
        )
        # in the report's dimension order, then by value: a group-by returns the values
        # of one dimension (a trace spans several services) in an order of its own
        pairs = sorted(
            whole.select("dimension", "value").iter_rows(), key=lambda r: (place[r[0]], r[1])
        )
        found[name] = [f"{d} = {v}" for d, v in pairs]
    return found


def _onsets(
    rows_of: RowReader,
    dimensions: list[Dimension],
    lead: pl.DataFrame,
    changes: pl.DataFrame,
    settings: SliceSettings,
) -> dict[str, dict[str, object]]:
    """For each lead slice that does not name it, whether its metric rose after the first
    new version or model appeared (Watchdog's deployment check): its target rows before
    and after ``first_seen``, one pass, tested one-sided at ``alpha``."""
    fresh = changes.filter(
        (pl.col("q_value") < settings.alpha)
        & pl.col("seen_before").is_null()
        & (pl.col("excess") > 0)
    )
    if fresh.height == 0 or lead.height == 0:
        return {}
    change = fresh.row(0, named=True)
    label = f"{change['dimension']} = {change['value']}"
    rows = [r for r in lead.iter_rows(named=True) if label not in r["conditions"]]
    if not rows:
        return {}
    conditions = [[tuple(c.split(" = ", 1)) for c in r["conditions"]] for r in rows]
    counts = rows_of.split_counts(change["first_seen"], conditions, dimensions)
    found: dict[str, dict[str, object]] = {}
    for i, row in enumerate(rows):
        mine = counts.filter(pl.col("seed") == i)
        sums = {c: float(mine.get_column(c).sum()) for c in TEST_TERMS}
        if min(sums["nt"], sums["nb"]) < settings.min_size:
            continue
        a = {k: np.array([v]) for k, v in sums.items()}
        if settings.binary:
            p = fisher_mid_p(a["nt"], a["st"], a["nb"], a["sb"])[0]
        else:
            p = welch_above(a["nt"], a["zt"], a["zqt"], a["nb"], a["zb"], a["zqb"])[0]
        if p < settings.alpha:
            found[row["slice"]] = {
                "change": change,
                "before": sums["sb"] / sums["nb"],
                "after": sums["st"] / sums["nt"],
                "p": float(p),
            }
    return found


def dimensions_of(probe: pl.DataFrame, settings: RcaSettings) -> list[Dimension]:
    """The dimensions :func:`dimensions.discover` finds in ``probe`` (a sample of both
    windows: an engine's), then ``--dimension`` ones."""
    dimensions = discover(probe)
    known = {d.name for d in dimensions}
    for name in settings.extra_dimensions:
        if name not in known and name.startswith(("attr.", "resource.")):
            dimensions.append(extra_dimension(name))
    return dimensions
