"""``pyflare drift``: feature, prediction, embedding and concept drift per model; a CI gate.

Thin: options become windows (:mod:`query.windows`), samples (:mod:`query.drift_samples`)
and settings (:mod:`commands.drift_plan`, from the config read once per run); the analysis
is :mod:`analysis.drift`, the output :mod:`render.drift_report`. Heavy imports (SciPy)
happen inside the commands so other commands start fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.engine_options import (
    EngineOption,
    EngineStoreOption,
    SparkMasterOption,
    refuse_engine,
)
from pyflare_cli.commands.options import (
    ConfigOption,
    FormatOption,
    HtmlOption,
    OutputFormat,
    StoreOption,
    UntilOption,
    WhereOption,
)
from pyflare_cli.errors import GateFailed, UsageError

if TYPE_CHECKING:
    pass

drift_app = typer.Typer(
    help="Drift of a model's inputs, outputs, embeddings and error behaviour; a CI gate."
    "\n\nExample:\n\n    pyflare drift --model gpt-4o --reference-days 7",
    invoke_without_command=True,
    rich_markup_mode="markdown",
)
baseline_app = typer.Typer(help="Freeze a reference sample in a file, for CI.")
drift_app.add_typer(baseline_app, name="baseline")

FAIL_ON = ("drifted", "warning", "insufficient")
SampleRate = Annotated[
    float, typer.Option("--sample-rate", help="Compare this share of calls (same on every engine).")
]

ModelOption = Annotated[
    str | None, typer.Option("--model", "-m", help="The model (response or request name).")
]
AllModels = Annotated[bool, typer.Option("--all-models", help="Every model with spans.")]
CurrentSince = Annotated[
    str, typer.Option("--since", help="Current window start: 24h, 7d or an ISO date.")
]
ReferenceOption = Annotated[
    str | None,
    typer.Option("--reference", help="Reference window START..END, e.g. 2026-11-01..2026-11-07."),
]
ReferenceDays = Annotated[
    int,
    typer.Option(
        "--reference-days", min=1, help="Reference: the N days before the current window."
    ),
]
BaselineOption = Annotated[
    Path | None,
    typer.Option("--baseline", help="Reference from `pyflare drift baseline save`."),
]
FeatureOption = Annotated[
    list[str] | None,
    typer.Option("--feature", help="Also compare this feature, e.g. attr.user.tier."),
]
OnlyOption = Annotated[bool, typer.Option("--only", help="Compare only the --feature features.")]
MethodOption = Annotated[
    list[str] | None,
    typer.Option("--method", help="ks, wasserstein, psi, jensenshannon, chisquare, z; or F=M."),
]
ThresholdOption = Annotated[
    list[str] | None,
    typer.Option("--threshold", help="Threshold for every feature, or FEATURE=VALUE."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(drift_app, name="drift")


@drift_app.callback()
def drift(
    ctx: typer.Context,
    model: ModelOption = None,
    all_models: AllModels = False,
    since: CurrentSince = "24h",
    until: UntilOption = None,
    reference: ReferenceOption = None,
    reference_days: ReferenceDays = 7,
    baseline: BaselineOption = None,
    where: WhereOption = None,
    feature: FeatureOption = None,
    only: OnlyOption = False,
    method: MethodOption = None,
    threshold: ThresholdOption = None,
    drift_share: Annotated[
        float | None,
        typer.Option(
            "--drift-share",
            min=0.01,
            max=1.0,
            help="Share of drifted features that makes the model drifted. [default: 0.5]",
        ),
    ] = None,
    min_samples: Annotated[
        int | None,
        typer.Option("--min-samples", min=2, help="Fewer values: insufficient data. [default: 30]"),
    ] = None,
    correction: Annotated[
        str | None,
        typer.Option("--correction", help="none or bonferroni (p-value thresholds / tests)."),
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option("--outcome", help="Concept drift outcome: error or attr.<numeric key>."),
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            help="Exit 1 at this verdict or worse: drifted, warning, or insufficient (data).",
        ),
    ] = "drifted",
    fail_on_feature: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-on-feature",
            help="Exit 1 when this feature drifts (FEATURE, or FEATURE=insufficient to fail "
            "also when it cannot be tested); repeatable.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the samples and permutations.")] = 0,
    sample_rate: SampleRate = 1.0,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    store: EngineStoreOption = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
    html: HtmlOption = None,
) -> None:
    """Compare a model's current spans with a reference window or a saved baseline.

    Exit 1 when a model's verdict reaches --fail-on (the share of drifted features, as
    Evidently), or a feature under a condition (--fail-on-feature, or drift.conditions in
    pyflare.yaml) drifted; 2 for a model without spans or a bad option. --format json or
    markdown prints the gate's verdict (docs/drift.md).

    Example:

        pyflare drift --model gpt-4o --since 24h --reference-days 7

        pyflare drift --model gpt-4o --fail-on-feature input_tokens --format markdown
    """
    if ctx.invoked_subcommand is not None:
        return
    from pyflare_cli.memory import configure_jemalloc

    configure_jemalloc()  # before Polars loads: freed pages go back, a lower peak
    from pyflare_cli.analysis.drift.report import compare, compare_models
    from pyflare_cli.commands.drift_frames import samples
    from pyflare_cli.commands.drift_plan import plan_of
    from pyflare_cli.config.file import load_config
    from pyflare_cli.engine.drift import drift_sampler
    from pyflare_cli.query.drift_samples import attribute_reads
    from pyflare_cli.render.drift_report import drift_verdict, emit_reports
    from pyflare_cli.render.output import console

    if fail_on not in FAIL_ON:
        raise UsageError(f"--fail-on {fail_on!r}: use drifted, warning or insufficient")
    if bool(model) == all_models:
        raise UsageError("name a model with --model, or use --all-models")
    if html is not None:
        from pyflare_cli.render.report.write import check_target

        check_target(html, "html", "--html")
    cfg = load_config(config)
    plan = plan_of(
        cfg,
        feature,
        only,
        method,
        threshold,
        drift_share,
        min_samples,
        correction,
        outcome,
        seed,
        fail_on_feature,
    )
    rules = cfg.price_rules
    reads = attribute_reads(plan.features, plan.settings.concept)
    with drift_sampler(engine, cfg, store, spark_master, sample_rate, reads) as sample:
        ref, ref_label, cur, window = samples(
            plan, sample, rules, since, until, reference, reference_days, baseline, where, model
        )
    if model:
        reports = [compare(model, ref, cur, plan.features, plan.settings)]
    else:
        frames = [ref, cur]
        del ref, cur
        reports = compare_models(frames, plan.features, plan.settings)
    verdict = drift_verdict(reports, fail_on, plan.conditions, ref_label, window.query_bounds)
    emit_reports(console(), reports, fmt.value, ref_label, window.label(), verdict)
    if html is not None:  # written before the gate's exit: the page of the failed gate
        from pyflare_cli.render.report.write import write_section_html
        from pyflare_cli.report.context import ReportContext
        from pyflare_cli.report.drift import section_of
        from pyflare_cli.store.layout import read_store

        page = ReportContext(read_store(store, remote=True), window, where, now(), rules)
        write_section_html(page, section_of(reports, ref_label, window.label()), html)
    failed = [c.name for c in verdict.checks if not c.passed]
    if failed:
        raise GateFailed(f"drift ({fail_on} or worse, or a feature condition): {'; '.join(failed)}")


@drift_app.command("history")
def history(
    model: Annotated[str, typer.Option("--model", "-m", help="The model.")],
    every: Annotated[str, typer.Option("--every", help="Period: hour, day or week.")] = "day",
    since: Annotated[
        str, typer.Option("--since", help="Start of the periods: 7d or an ISO date.")
    ] = "7d",
    until: UntilOption = None,
    reference: ReferenceOption = None,
    reference_days: ReferenceDays = 7,
    baseline: BaselineOption = None,
    where: WhereOption = None,
    feature: FeatureOption = None,
    only: OnlyOption = False,
    method: MethodOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Each period's drift score per feature against one reference, and its trend.

    Example:

        pyflare drift history --model gpt-4o --every day --since 7d
    """
    from pyflare_cli.analysis.drift.history import EVERY, drift_history
    from pyflare_cli.commands.drift_frames import samples
    from pyflare_cli.commands.drift_plan import plan_of
    from pyflare_cli.config.file import load_config
    from pyflare_cli.engine.drift import drift_sampler
    from pyflare_cli.query.drift_samples import attribute_reads
    from pyflare_cli.render.drift_history import emit_history
    from pyflare_cli.render.output import console

    refuse_engine("drift history")
    if every not in EVERY:
        raise UsageError(f"--every {every!r}: use hour, day or week")
    cfg = load_config(config)
    plan = plan_of(cfg, feature, only, method, None, None, None, None, None, 0)
    rules = cfg.price_rules
    reads = attribute_reads(plan.features, plan.settings.concept)
    with drift_sampler("polars", cfg, str(store) if store else None, None, 1.0, reads) as sample:
        ref, ref_label, cur, _ = samples(
            plan, sample, rules, since, until, reference, reference_days, baseline, where, model
        )
    table, trends = drift_history(model, ref, cur, plan.features, plan.settings, every)
    emit_history(console(), model, table, trends, fmt.value, ref_label)


@baseline_app.command("save")
def baseline_save(
    out: Annotated[Path, typer.Option("--out", "-o", help="The Parquet file to write.")],
    model: ModelOption = None,
    all_models: AllModels = False,
    since: Annotated[
        str, typer.Option("--since", help="Reference start: 7d or an ISO date.")
    ] = "7d",
    until: UntilOption = None,
    reference: ReferenceOption = None,
    where: WhereOption = None,
    sample: Annotated[
        int,
        typer.Option("--sample", min=100, help="Keep at most this many spans (seeded sample)."),
    ] = 100_000,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Freeze a model's reference spans in a file, for `pyflare drift --baseline`.

    Example:

        pyflare drift baseline save --model gpt-4o --since 7d --out base.parquet
    """
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query.drift_samples import model_sample, save_baseline
    from pyflare_cli.query.windows import current_window, parse_range
    from pyflare_cli.store.layout import read_store

    refuse_engine("drift baseline save")
    if bool(model) == all_models:
        raise UsageError("name a model with --model, or use --all-models")
    at = now()
    root = read_store(store, remote=True)
    window = (
        parse_range(reference, at, "--reference") if reference else current_window(since, until, at)
    )
    spans = model_sample(root, window, where, at, load_config(config).price_rules, model)
    frame = spans.collect()
    if frame.height == 0:
        raise UsageError(f"no spans of {model or 'any model'} in {window.label()}")
    if frame.height > sample:
        frame = frame.sample(sample, seed=0).sort("start_time")
    meta = {"model": model, "window": window.label(), "where": where, "created": at.isoformat()}
    written = save_baseline(frame, out, meta)
    typer.echo(f"wrote {written:,} spans of {model or 'every model'} ({window.label()}) to {out}")


@baseline_app.command("show")
def baseline_show(path: Annotated[Path, typer.Argument(help="A baseline file.")]) -> None:
    """What a baseline file holds: model, window, filter, spans per model.

    Example:

        pyflare drift baseline show base.parquet
    """
    from pyflare_cli.query.drift_samples import load_baseline
    from pyflare_cli.render.drift_report import baseline_lines

    for line in baseline_lines(*load_baseline(path)):
        typer.echo(line)
