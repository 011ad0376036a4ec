"""``pyflare traces`` (one row per trace) and ``pyflare trace show`` (one trace's waterfall)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.engine_options import (
    EngineOption,
    EngineStoreOption,
    SparkMasterOption,
)
from pyflare_cli.commands.options import (
    FormatOption,
    OutputFormat,
    SinceOption,
    StoreOption,
    UntilOption,
    WhereOption,
)
from pyflare_cli.errors import UsageError
from pyflare_cli.render.units import count, duration, money
from pyflare_cli.store.layout import read_store

if TYPE_CHECKING:
    import polars as pl

SORTS = ("start", "duration", "cost", "errors", "spans", "tokens")
"""The keys of ``analysis.traces.summary.TRACE_SORTS``, named here so that help needs no Polars."""

TRACES_HELP = """List traces, one row per trace, most interesting first.

Columns: start, root service and operation, duration, spans, errors, models,
tokens, and cost when the models' prices are known. `--engine duckdb|spark|clickhouse`
ranks the traces where the spans are and summarises only the listed ones (docs/scale.md).

Example:

    pyflare traces --where 'status:error model:gpt-4o*' --since 24h --sort duration
"""

trace_app = typer.Typer(
    help="Look at one trace.\n\nExample:\n\n    pyflare trace show 4bf92f35",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


def register(app: typer.Typer) -> None:
    app.command("traces", help=TRACES_HELP)(traces)
    app.add_typer(trace_app, name="trace")


def traces(
    where: WhereOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    sort: Annotated[
        str, typer.Option("--sort", "-s", help=f"One of: {', '.join(SORTS)}.")
    ] = "start",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Rows to show.")] = 20,
    store: EngineStoreOption = None,
    fmt: FormatOption = OutputFormat.table,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    import polars as pl

    from pyflare_cli.config.file import load_config
    from pyflare_cli.engine.polars_engine import PolarsEngine
    from pyflare_cli.engine.select import engine_session
    from pyflare_cli.query.spans import SpanQuery, trace_list
    from pyflare_cli.render.output import console, emit

    if sort not in SORTS:
        raise UsageError(f"--sort {sort!r} is not one of {', '.join(SORTS)}")
    query, at = SpanQuery(since, until, where), now()
    with engine_session(engine, load_config(None), store, spark_master) as eng:
        if isinstance(eng, PolarsEngine):
            result = trace_list(eng.root, query, at, sort, limit)
        else:
            from pyflare_cli.engine.traces import trace_list as on_engine

            result = on_engine(eng, *query.bounds(at), where, at, sort, limit)
    if fmt is not OutputFormat.table:
        emit(result, fmt.value, console())
        return
    out = console()
    if result.height == 0:
        out.print("no traces match")
        return
    table = result.select(
        pl.col("start_time").dt.strftime("%m-%d %H:%M:%S").alias("start"),
        pl.col("trace_id").str.slice(0, 12).alias("trace"),
        (pl.col("root_service") + pl.lit(": ") + pl.col("root_name")).alias("root"),
        pl.col("duration_ns").map_elements(duration, return_dtype=pl.String).alias("duration"),
        pl.col("spans"),
        pl.col("errors"),
        pl.col("models").list.join(", ").alias("models"),
        pl.col("total_tokens").map_elements(count, return_dtype=pl.String).alias("tokens"),
        pl.col("cost_usd").map_elements(money, return_dtype=pl.String).alias("cost"),
    )
    emit(table, "table", out)


@trace_app.command("show")
def show(
    trace_id: Annotated[str, typer.Argument(help="A trace id, or a unique prefix of one.")],
    store: StoreOption = None,
    fmt: FormatOption = OutputFormat.table,
    max_rows: Annotated[
        int, typer.Option("--max-rows", min=1, help="Spans to draw before eliding.")
    ] = 200,
) -> None:
    """Show one trace: its waterfall with the critical path, then time per service and operation.

    A unique prefix of the trace id is enough. `--format json` prints the spans.

    Example:

        pyflare trace show 4bf92f35
    """
    import polars as pl

    from pyflare_cli.analysis.traces.summary import trace_ids_with_prefix
    from pyflare_cli.analysis.traces.tree import (
        breakdown,
        build_tree,
        find_critical_path,
        self_times,
    )
    from pyflare_cli.query.prices import priced
    from pyflare_cli.render.output import console, emit
    from pyflare_cli.render.waterfall import Waterfall, render_breakdown
    from pyflare_cli.store.scan import scan_spans

    root = read_store(store, remote=True)
    matches = trace_ids_with_prefix(scan_spans(root), trace_id).collect()
    ids = matches.get_column("trace_id").to_list()
    if not ids:
        raise UsageError(f"no trace id starts with {trace_id!r}")
    if len(ids) > 1:
        shown = ", ".join(i[:16] for i in ids[:5])
        raise UsageError(f"{trace_id!r} matches {len(ids)} or more traces ({shown}); type more")
    first, last = matches.row(0)[1:]
    spans = (
        priced(
            scan_spans(root, first, last + timedelta(microseconds=1)).filter(
                pl.col("trace_id") == ids[0]
            ),
            root,
        )
        .sort("start_time")
        .collect()
    )
    out = console()
    if fmt is not OutputFormat.table:
        emit(spans.drop("embedding"), fmt.value, out)
        return
    tree = build_tree(spans)
    path = find_critical_path(tree, spans)
    own = self_times(tree, spans)
    out.print(_headline(spans))
    out.print(Waterfall(spans, tree=tree, critical=path, max_rows=max_rows))
    out.print(render_breakdown(breakdown(spans, "service", self_time=own), title="per service"))
    out.print(render_breakdown(breakdown(spans, "operation", self_time=own), title="per operation"))


def _headline(spans: pl.DataFrame) -> str:
    """``trace 5b8e… · 12 spans · 1.50s · 1 error · $0.0031 · 2025-11-20 12:00:00 UTC``."""
    from pyflare_cli.analysis.traces.summary import summarize_traces

    summary = summarize_traces(spans.lazy()).collect().row(0, named=True)
    parts = [
        f"trace {summary['trace_id']}",
        f"{summary['root_service']}: {summary['root_name']}",
        f"{summary['spans']} spans",
        duration(summary["duration_ns"]),
        f"{summary['errors']} error(s)",
    ]
    if summary["total_tokens"]:
        parts.append(f"{count(summary['total_tokens'])} tokens")
    if summary["cost_usd"] is not None:
        parts.append(money(summary["cost_usd"]))
    parts.append(f"{summary['start_time']:%Y-%m-%d %H:%M:%S} UTC")
    return " · ".join(parts)
