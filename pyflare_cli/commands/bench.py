"""``pyflare bench``: reproducible benchmarks of every stage, the load generator, the gate.

Thin: suites are :mod:`bench.suites`, figures :mod:`bench.figures`, the regression gate
:mod:`bench.compare`, and ``pyflare bench load`` comes from :mod:`commands.bench_load`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from pyflare_cli.errors import GateFailed, UsageError

PEERS = {"cost": "DuckDB", "receive": "Rotel"}
"""The suites that have a peer under ``--peers`` (bench.peers), named here for --help."""


class _RunByDefault(TyperGroup):
    """`pyflare bench [SUITE...]` runs suites; `pyflare bench load` is the load generator.

    Anything that is not a subcommand name (a suite, an option) goes to ``run``.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


bench_app = typer.Typer(
    cls=_RunByDefault,
    help="Benchmarks of every stage on generated data, an OTLP load generator, a CI gate."
    "\n\nExample:\n\n    pyflare bench ingest query --spans 100k --repeat 3",
    rich_markup_mode="markdown",
)


def register(app: typer.Typer) -> None:
    try:
        from pyflare_cli.commands.bench_load import add_load_command
    except ImportError:  # pragma: no cover - the load command ships with this module
        pass
    else:
        add_load_command(bench_app)
    app.add_typer(bench_app, name="bench")


def _count(text: str) -> int:
    value = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(value[-1:], 1)
    digits = value[:-1] if value[-1:] in "km" else value
    try:
        count = int(float(digits) * scale)
    except ValueError:
        raise UsageError(f"--spans {text!r}: use a number such as 100000, 100k or 1M") from None
    if count < 1000:
        raise UsageError(f"--spans {text!r}: at least 1000 spans")
    return count


@bench_app.command("run")
def bench(
    suites: Annotated[
        list[str] | None,
        typer.Argument(help="Suites: ingest receive query cost drift rca alert (default all)."),
    ] = None,
    spans: Annotated[str, typer.Option("--spans", help="Data size: 100k, 1M.")] = "100k",
    repeat: Annotated[
        int, typer.Option("--repeat", min=1, max=50, help="Timed runs after a warm-up.")
    ] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the demo generator.")] = 7,
    out: Annotated[Path | None, typer.Option("--out", help="Write the results as JSON.")] = None,
    compare_to: Annotated[
        Path | None,
        typer.Option("--compare", help="A baseline results file: exit 1 on a regression."),
    ] = None,
    max_regression: Annotated[
        str, typer.Option("--max-regression", help="Allowed worsening beyond the noise.")
    ] = "10%",
    work: Annotated[
        Path | None,
        typer.Option("--work", help="Folder for generated data (kept); default a temp folder."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or markdown.")] = "table",
    peers: Annotated[
        bool,
        typer.Option(
            "--peers",
            help="Also run the peers where installed, in turn with pyflare: DuckDB for cost, "
            "Rotel's blackhole for receive; print each figure with the ratio.",
        ),
    ] = False,
) -> None:
    """Measure each stage on data from `pyflare demo`: median and spread over --repeat runs.

    Example:

        pyflare bench ingest query cost --spans 100k --repeat 3 --out results.json

        pyflare bench cost receive --peers --spans 1M
    """
    from pyflare_cli.bench.compare import check_comparable, compare, load_results, parse_ratio
    from pyflare_cli.bench.figures import Results
    from pyflare_cli.bench.suites import RUNNERS, SUITES, Context
    from pyflare_cli.render.bench import print_comparison, print_results

    chosen = list(dict.fromkeys(suites or [s for s in SUITES]))
    for name in chosen:
        if name not in SUITES:
            raise UsageError(f"unknown suite {name!r}: use {', '.join(SUITES)}")
    if peers and not set(chosen) & set(PEERS):
        offered = ", ".join(f"{suite} ({peer})" for suite, peer in PEERS.items())
        raise UsageError(f"--peers: no peer runs {', '.join(chosen)}; peers exist for {offered}")
    if fmt not in ("table", "json", "markdown"):
        raise UsageError(f"--format {fmt!r}: use table, json or markdown")
    allowance = parse_ratio(max_regression)
    count = _count(spans)
    results = Results(spans=count, repeat=repeat, seed=seed)
    baseline = load_results(compare_to) if compare_to else None
    if compare_to is not None:
        check_comparable(compare_to, count, seed, results.machine)
    with tempfile.TemporaryDirectory(prefix="pyflare-bench-") as temp:
        folder = work or Path(temp)
        folder.mkdir(parents=True, exist_ok=True)
        context = Context(folder, count, repeat, seed, peers=peers)
        for name in chosen:
            runner = RUNNERS.get(name)
            if runner is None:
                results.skipped[name] = "not built yet (the TUI, issue 8)"
                continue
            try:
                results.figures += runner(context)
            except RuntimeError as exc:
                results.skipped[name] = str(exc)
        results.peers = context.peer_figures
        results.peer_checks = context.peer_checks
        results.peers_skipped = context.peers_skipped
    if out is not None:
        out.write_text(json.dumps(results.to_dict(), indent=2) + "\n")
    print_results(results, fmt)
    if baseline is not None:
        comparisons, only_before, only_now = compare(baseline, results.figures, allowance)
        print_comparison(comparisons, only_before, only_now, fmt)
        worse = [c for c in comparisons if c.regressed]
        if worse:
            names = ", ".join(c.key for c in worse)
            raise GateFailed(f"{len(worse)} figure(s) regressed beyond {max_regression}: {names}")
