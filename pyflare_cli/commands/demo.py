"""``pyflare demo``: fill the store with realistic LLM traces that hide known incidents."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pyflare_cli.clock import now
from pyflare_cli.commands.options import StoreOption
from pyflare_cli.errors import UsageError
from pyflare_cli.store.layout import resolve_store

HELP = """Generate demo traces into the store (or a file) and show what to try next.

The data is deterministic for a given `--seed` and end time: several services, an
agent calling LLMs, tools and a retriever, embeddings, sessions and users, several
models and providers, and hidden incidents for `traces`, `cost`, `drift` and `rca`
to find. Running it again replaces the previous demo data. The first failed request of
the rag-api incident always has the id feedc0defa11ed000000000000000001, so
`pyflare trace show feedc0de` works after any demo (the README's tour uses it).

Examples:

    pyflare demo

    pyflare demo --spans 1000000 --out big.pb --format pb
"""


class FileFormat(StrEnum):
    pb = "pb"
    json = "json"
    jsonl = "jsonl"


def register(app: typer.Typer) -> None:
    app.command("demo", help=HELP)(demo)


def demo(
    spans: Annotated[int, typer.Option("--spans", min=1, help="About how many spans.")] = 50_000,
    days: Annotated[float, typer.Option("--days", min=0.1, help="Days of traffic.")] = 3.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 7,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write OTLP to this file instead of the store.")
    ] = None,
    file_format: Annotated[
        FileFormat, typer.Option("--format", help="File format with --out.")
    ] = FileFormat.pb,
    store: StoreOption = None,
) -> None:
    from pyflare_cli.demo.generator import generate_requests
    from pyflare_cli.demo.tour import DEMO_SOURCE, replace_demo, tour
    from pyflare_cli.sources.otlp_wire import write_requests

    end = now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    requests = generate_requests(spans, seed=seed, end=end, days=days)
    console = Console(highlight=False, markup=False)
    if out is not None:
        if out.exists() and out.is_dir():
            raise UsageError(f"--out {out} is a folder")
        write_requests(requests, out, file_format.value)
        console.print(f"wrote about {spans:,} spans to {out} ({file_format.value})")
        return
    root = resolve_store(store)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".demo-") as folder:
        path = Path(folder) / DEMO_SOURCE
        write_requests(requests, path, "pb")
        report, kept = replace_demo(root, path)
    console.print(
        f"demo: {report.spans:,} spans in {report.traces:,} traces over {days:g} days "
        f"ending {end:%Y-%m-%d %H:%M} UTC, written to {root} in {report.seconds:.1f}s",
        soft_wrap=True,
    )
    if kept:
        console.print(
            f"note: {kept} file(s) of the earlier demo were compacted together with other "
            "data and were kept; use a separate --store for demos",
            soft_wrap=True,
        )
    console.print(tour(root, end, store_option=str(store) if store else None), soft_wrap=True)
