"""``pyflare cost check`` and ``pyflare cost budget``: the spend gate and the budgets.

Apart from :mod:`commands.cost` (the report, prices, top traces, forecast) so each module
keeps one reason: these two read budgets from the config and turn limits into an exit code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.options import (
    ConfigOption,
    FormatOption,
    GateFormat,
    GateFormatOption,
    OutputFormat,
    PricesOption,
    StoreOption,
    UntilOption,
    WhereOption,
    WindowStartOption,
)
from pyflare_cli.errors import GateFailed, UsageError
from pyflare_cli.store.layout import read_store

if TYPE_CHECKING:
    from pyflare_cli.analysis.cost.budgets import Budget
    from pyflare_cli.config.file import Config


def check(
    max_total: Annotated[
        float | None, typer.Option("--max-total", help="Fail above this total (USD).")
    ] = None,
    max_per_request: Annotated[
        float | None,
        typer.Option("--max-per-request", help="Fail when one call costs more (USD)."),
    ] = None,
    budget_names: Annotated[
        list[str] | None,
        typer.Option("--budget", help="Fail when this budget is exceeded (repeatable)."),
    ] = None,
    fail_projected: Annotated[
        bool, typer.Option("--fail-projected", help="Also fail on budgets projected to exceed.")
    ] = False,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Pass a window without spans (else exit 2).")
    ] = False,
    fail_on_unpriced: Annotated[
        bool, typer.Option("--fail-on-unpriced", help="Fail when a call has tokens but no price.")
    ] = False,
    since: WindowStartOption = "24h",
    until: UntilOption = None,
    where: WhereOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    prices: PricesOption = None,
    fmt: GateFormatOption = GateFormat.table,
) -> None:
    """A CI gate: exit 0 when every limit holds, 1 when one is breached, 2 when the data
    cannot answer (no store, no spans in the window, an impossible limit).

    `--max-total` and `--max-per-request` apply to the `--since` window; `--budget NAME`
    checks a budget of pyflare.yaml in its own current period. `--format json` gives a
    stable verdict for CI, `--format markdown` a step summary (docs/cost.md).

    Example:

        pyflare cost check --max-total 50 --max-per-request 0.25 --since 24h
    """
    from pyflare_cli.analysis.cost.gate import gate_facts
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query.budgets import budget_status
    from pyflare_cli.query.prices import price_rules as rules_of
    from pyflare_cli.query.spans import SpanQuery, select_spans
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.render.cost import cost_verdict, emit_gate
    from pyflare_cli.render.output import console

    if max_total is None and max_per_request is None and not budget_names:
        raise UsageError("give --max-total, --max-per-request and/or --budget NAME")
    for name, limit in (("--max-total", max_total), ("--max-per-request", max_per_request)):
        if limit is not None and not (0 <= limit < float("inf")):
            raise UsageError(f"{name} {limit}: a limit is a finite amount of USD, 0 or more")
    cfg = load_config(config)
    chosen = _chosen_budgets(cfg, budget_names) if budget_names else ()
    rules, _ = rules_of(cfg, prices)
    at = now()
    root = read_store(store, remote=True)
    statuses = ("exceeded", "projected") if fail_projected else ("exceeded",)
    budgets = budget_status(root, chosen, at, rules) if chosen else None
    window = current_window(since, until, at)
    spans = select_spans(root, SpanQuery(*window.query_bounds, where), at, rules).spans
    facts = gate_facts(spans, max_per_request)
    if facts.spans == 0 and not allow_empty and (max_total is not None or max_per_request):
        raise UsageError(
            f"no spans between {window.start:%Y-%m-%d %H:%M} and {window.end:%Y-%m-%d %H:%M} "
            f"UTC in {root}"
            + (f" matching {where!r}" if where else "")
            + " (--allow-empty to pass anyway)"
        )
    verdict = cost_verdict(
        facts,
        (window.start, window.end),
        max_total,
        max_per_request,
        budgets,
        statuses,
        fail_on_unpriced,
    )
    emit_gate(console(), verdict, fmt.value)
    if not verdict.passed:
        raise typer.Exit(GateFailed.exit_code)


def _chosen_budgets(cfg: Config, names: list[str] | None) -> tuple[Budget, ...]:
    """The configured budgets (``names`` selects some); exit 2 for an unknown name or none."""
    chosen = cfg.budgets
    if names:
        known = {b.name for b in cfg.budgets}
        unknown = [n for n in names if n not in known]
        if unknown:
            listed = ", ".join(sorted(known)) or "none configured"
            raise UsageError(f"--budget {unknown[0]!r} is not in the config ({listed})")
        chosen = tuple(b for b in cfg.budgets if b.name in names)
    if not chosen:
        raise UsageError("no budgets: add a budgets section to pyflare.yaml (see docs/cost.md)")
    return chosen


def budget(
    names: Annotated[
        list[str] | None, typer.Option("--budget", help="Only these budgets (by name).")
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    prices: PricesOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Each budget: spent in the current period, projected at its end, and its status.

    Statuses: ok, warn (past its warn_at share), projected (to exceed by the period end
    at the last 7 days' rate), exceeded. Budgets are configured in pyflare.yaml.

    Example:

        pyflare cost budget --config pyflare.yaml
    """
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query.budgets import budget_status
    from pyflare_cli.query.prices import price_rules as rules_of
    from pyflare_cli.render.cost import emit_budgets
    from pyflare_cli.render.output import console

    cfg = load_config(config)
    chosen = _chosen_budgets(cfg, names)
    rules, _ = rules_of(cfg, prices)
    frame = budget_status(read_store(store, remote=True), chosen, now(), rules)
    emit_budgets(console(), frame, fmt.value)
