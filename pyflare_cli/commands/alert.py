"""``pyflare alert``: evaluate alert rules over the store, keep their states, notify, test.

Thin: rules come from :mod:`alerting.rules`, one evaluation is :func:`alerting.check.run_check`,
states live in :class:`alerting.state.alerts.AlertStore`, the ``silence`` sub-commands in
:mod:`commands.alert_silence`; rendering is :mod:`render.alerts`. The rule file and the
config are read once per evaluation.
"""

from __future__ import annotations

import signal
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.alert_silence import Who, silence_app, who
from pyflare_cli.commands.engine_options import EngineOption, SparkMasterOption
from pyflare_cli.commands.options import ConfigOption, FormatOption, OutputFormat, StoreOption
from pyflare_cli.errors import GateFailed, UsageError

if TYPE_CHECKING:
    from pyflare_cli.alerting.check import CheckOutcome
    from pyflare_cli.alerting.rules.model import RuleFile
    from pyflare_cli.config.file import Config

alert_app = typer.Typer(
    help="Alert rules over the span store: states, silences, notifications, rule tests."
    "\n\nExample:\n\n    pyflare alert check --rules alerts.yaml",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
alert_app.add_typer(silence_app, name="silence")

DEFAULT_RULES = "alerts.yaml"
RulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        help="Rule file. Default: alerts.rules in pyflare.yaml, else ./alerts.yaml",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(alert_app, name="alert")


def _rule_path(cfg: Config) -> Path:
    """Without ``--rules``: ``alerts.rules`` of the config (beside it), else ./alerts.yaml."""
    section = cfg.raw.get("alerts") or {}
    configured = section.get("rules") if isinstance(section, dict) else None
    if configured:
        base = cfg.path.parent if cfg.path else Path(".")
        return base / str(configured)
    return Path(DEFAULT_RULES)


def _load(rules: Path | None, config: Path | None) -> tuple[RuleFile, Config]:
    """The rule file and the config, each read once; an explicit rule file is checked first."""
    from pyflare_cli.alerting.rules.parse import load_rules
    from pyflare_cli.config.file import load_config

    if rules is not None:
        rule_file = load_rules(rules)
        return rule_file, load_config(config)
    cfg = load_config(config)
    return load_rules(_rule_path(cfg)), cfg


def _severity(value: str) -> str:
    from pyflare_cli.alerting.model import SEVERITIES

    if value not in SEVERITIES:
        raise UsageError(f"--fail-severity {value!r}: use {', '.join(SEVERITIES)}")
    return value


def _check_once(
    loaded: tuple[RuleFile, Config],
    store: Path | None,
    at: datetime,
    notify: bool,
    engine: Any = None,
) -> CheckOutcome:
    """One evaluation; ``engine`` a SQL engine (the measures run there) or None (Polars)."""
    from pyflare_cli.alerting.check import run_check
    from pyflare_cli.alerting.lint import lint_rule_file
    from pyflare_cli.engine.base import SqlEngine
    from pyflare_cli.store.layout import read_store

    rule_file, cfg = loaded
    lint_rule_file(rule_file, cfg.budgets, targets=notify)
    sql = engine if isinstance(engine, SqlEngine) else None
    return run_check(
        read_store(store, remote=True),
        rule_file,
        at,
        cfg.budgets,
        cfg.price_rules,
        notify=notify,
        engine=sql,
    )


@alert_app.command("check")
def check(
    rules: RulesOption = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Evaluate as of this time (ISO); default now.")
    ] = None,
    fail_severity: Annotated[
        str,
        typer.Option("--fail-severity", help="Exit 1 when an alert this severe or worse fires."),
    ] = "warning",
    no_notify: Annotated[
        bool, typer.Option("--no-notify", help="Update states but send nothing.")
    ] = False,
    store: StoreOption = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """Evaluate every rule once, update the alert states, notify; exit 1 on firing alerts.

    --format table or csv lists the pending, firing and just-resolved alerts; json and
    markdown print the gate's verdict, one check per rule (docs/alert.md).
    `--engine duckdb|spark|clickhouse` computes the rules' measures where the spans are;
    the states stay in the store folder (docs/scale.md).

    Example:

        pyflare alert check --rules alerts.yaml --fail-severity critical
    """
    from pyflare_cli.alerting.check import lookback
    from pyflare_cli.alerting.model import severity_rank
    from pyflare_cli.analysis.search.time_bounds import time_bound
    from pyflare_cli.render.alerts import check_shown, check_verdict, check_warnings, emit_alerts
    from pyflare_cli.render.output import console
    from pyflare_cli.render.verdict import emit_verdict

    level = severity_rank(_severity(fail_severity))
    moment = time_bound(at, now()) if at else now()
    from pyflare_cli.engine.select import engine_session, folder_store

    loaded = _load(rules, config)
    with engine_session(
        engine, loaded[1], folder_store(store, "alert states"), spark_master
    ) as eng:
        outcome = _check_once(loaded, store, moment, not no_notify, eng)
    window = (moment - lookback(loaded[0].rules), moment)
    verdict = check_verdict(outcome, loaded[0].rules, fail_severity, window)
    if not emit_verdict(console(), verdict, fmt.value):
        emit_alerts(console(), check_shown(outcome), fmt.value)
    for line in check_warnings(outcome):
        typer.echo(line, err=True)
    firing = [
        a for a in outcome.alerts if a.state == "firing" and severity_rank(a.severity) >= level
    ]
    if firing:
        names = ", ".join(sorted({a.name for a in firing}))
        raise GateFailed(f"{len(firing)} alert(s) firing at {fail_severity} or above: {names}")
    unknown = [
        r.name
        for r in loaded[0].rules
        if r.name in outcome.errors and severity_rank(r.severity) >= level
    ]
    if unknown:  # fails closed: a rule at --fail-severity that saw no data is not a pass
        names = ", ".join(unknown)
        raise UsageError(f"alert(s) at {fail_severity} or above not evaluated: {names}")


@alert_app.command("watch")
def watch(
    rules: RulesOption = None,
    interval: Annotated[
        str, typer.Option("--interval", help="Time between evaluations: 30s, 1m, 5m.")
    ] = "1m",
    max_runs: Annotated[
        int | None, typer.Option("--max-runs", min=1, help="Stop after N evaluations.")
    ] = None,
    no_notify: Annotated[
        bool, typer.Option("--no-notify", help="Update states but send nothing.")
    ] = False,
    store: StoreOption = None,
    config: ConfigOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """Evaluate continuously until Ctrl-C or SIGTERM (or --max-runs), one line per change.

    `--engine duckdb|spark|clickhouse` keeps one engine session for every evaluation.

    Example:

        pyflare alert watch --interval 1m --rules alerts.yaml
    """
    from pyflare_cli.analysis.search.time_bounds import parse_duration_ns
    from pyflare_cli.render.alerts import event_line

    ns = parse_duration_ns(interval)
    if ns is None or ns < 1_000_000_000:
        raise UsageError(f"--interval {interval!r}: use a duration of at least 1s, e.g. 1m")
    loaded: tuple[RuleFile, Config] | None = _load(rules, config)  # a bad file stops here
    first_config = _load(rules, config)[1] if loaded is None else loaded[1]
    stop = {"now": False}

    def request_stop(signum: int, frame: Any) -> None:
        stop["now"] = True

    from pyflare_cli.engine.select import folder_store, open_engine

    eng = open_engine(engine, first_config, folder_store(store, "alert states"), spark_master)
    previous = signal.signal(signal.SIGTERM, request_stop)
    runs = 0
    try:
        while not stop["now"]:
            started = time.monotonic()
            # The files are read again for every later evaluation: edits count from the next.
            outcome = _check_once(loaded or _load(rules, config), store, now(), not no_notify, eng)
            loaded = None
            runs += 1
            for event in outcome.events:
                typer.echo(event_line(event))
            for name, reason in outcome.errors.items():
                typer.echo(f"warning: alert {name} not evaluated: {reason}", err=True)
            if max_runs is not None and runs >= max_runs:
                break
            deadline = started + ns / 1e9
            while not stop["now"] and time.monotonic() < deadline:
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        eng.close()
    typer.echo(f"stopped after {runs} evaluation(s)")


@alert_app.command("list")
def list_alerts(
    state: Annotated[
        str | None, typer.Option("--state", help="Only pending, firing or resolved alerts.")
    ] = None,
    store: StoreOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The alerts as the last evaluation left them.

    Example:

        pyflare alert list --state firing
    """
    from pyflare_cli.alerting.state.alerts import AlertStore
    from pyflare_cli.render.alerts import emit_alerts
    from pyflare_cli.render.output import console
    from pyflare_cli.store.layout import resolve_store

    if state is not None and state not in ("pending", "firing", "resolved"):
        raise UsageError(f"--state {state!r}: use pending, firing or resolved")
    alerts = list(AlertStore(resolve_store(store)).load().values())
    if state:
        alerts = [a for a in alerts if a.state == state]
    emit_alerts(console(), alerts, fmt.value)


@alert_app.command("history")
def history(
    alert: Annotated[str | None, typer.Option("--alert", help="Only this alert name.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only events after: 24h, 7d or an ISO date.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest N events.")] = 50,
    store: StoreOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """State changes, acknowledgements, resolutions and notifications, newest last.

    Example:

        pyflare alert history --since 24h
    """
    from pyflare_cli.alerting.state.alerts import AlertStore
    from pyflare_cli.analysis.search.time_bounds import time_bound
    from pyflare_cli.render.alerts import emit_rows, history_rows
    from pyflare_cli.render.output import console
    from pyflare_cli.store.layout import resolve_store

    events = AlertStore(resolve_store(store)).history()
    if alert:
        events = [e for e in events if e.get("alertname") == alert]
    if since:
        bound = time_bound(since, now())
        events = [e for e in events if datetime.fromisoformat(e["time"]) >= bound]
    shown = events[-limit:]
    rows = history_rows(shown) if fmt is not OutputFormat.json else shown
    emit_rows(console(), rows, fmt.value, "no history")


@alert_app.command("ack")
def ack(
    alert_id: Annotated[str, typer.Argument(help="Alert id (a prefix is enough).")],
    comment: Annotated[str, typer.Option("--comment", "-c", help="Why.")] = "",
    by: Who = None,
    store: StoreOption = None,
) -> None:
    """Acknowledge a firing alert: no more notifications for it until it resolves.

    Example:

        pyflare alert ack 3f2a9c1e --comment "looking into it"
    """
    from pyflare_cli.alerting.state.alerts import AlertStore
    from pyflare_cli.store.layout import resolve_store

    alert = AlertStore(resolve_store(store)).acknowledge(alert_id, who(by), comment, now())
    typer.echo(f"acknowledged {alert.fingerprint[:8]} {alert.name} ({alert.state})")


@alert_app.command("resolve")
def resolve(
    alert_id: Annotated[str, typer.Argument(help="Alert id (a prefix is enough).")],
    by: Who = None,
    store: StoreOption = None,
) -> None:
    """Mark an alert resolved by hand; if its condition still holds, it fires again.

    Example:

        pyflare alert resolve 3f2a9c1e
    """
    from pyflare_cli.alerting.state.alerts import AlertStore
    from pyflare_cli.store.layout import resolve_store

    alert = AlertStore(resolve_store(store)).resolve(alert_id, who(by), now())
    typer.echo(f"resolved {alert.fingerprint[:8]} {alert.name}")


@alert_app.command("rules")
def list_rules(
    rules: RulesOption = None, config: ConfigOption = None, fmt: FormatOption = OutputFormat.table
) -> None:
    """Check the rule file and list its rules (exit 2 naming the file and line if invalid).

    Checks everything `alert check` would refuse: each rule, its regexes and queries, the
    notification targets (type, URL, routing key, ${VAR} secrets), maintenance windows,
    inhibition rules, and that every `budget:` names a budget of pyflare.yaml.

    Example:

        pyflare alert rules --rules alerts.yaml
    """
    from pyflare_cli.alerting.lint import lint_rule_file
    from pyflare_cli.render.alerts import emit_rows, rule_rows
    from pyflare_cli.render.output import console

    rule_file, cfg = _load(rules, config)
    lint_rule_file(rule_file, cfg.budgets)
    emit_rows(console(), rule_rows(rule_file), fmt.value, "no rules")


@alert_app.command("test")
def run_rule_tests(
    test_file: Annotated[
        Path,
        typer.Argument(
            metavar="TESTFILE",
            help="Test file (YAML): the rule file, input spans, expected alerts.",
        ),
    ],
    run: Annotated[
        list[str] | None,
        typer.Option("--run", help="Only the tests whose name contains this (repeatable)."),
    ] = None,
) -> None:
    """Unit-test alert rules: evaluate them over described spans, compare the alerts.

    In the manner of `promtool test rules`: each test evaluates the rules every
    `interval` over its spans, and at each check compares the firing alerts with the
    expected ones. Exit 0 when every check passes; 1 with a diff of expected (-) and
    actual (+) alerts otherwise; 2 when the test or rule file is invalid (file:line).
    The format is in docs/examples/alerts.test.yaml.

    Example:

        pyflare alert test docs/examples/alerts.test.yaml
    """
    from pyflare_cli.alerting.rule_tests.report import report_lines, summary
    from pyflare_cli.alerting.rule_tests.run import run_test_file

    results = run_test_file(test_file, only=run or ())
    for line in report_lines(results):
        typer.echo(line)
    if any(not result.passed for result in results):
        raise GateFailed(summary(results))
    typer.echo(summary(results))
