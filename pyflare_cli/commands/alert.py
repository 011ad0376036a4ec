"""``pyflare alert``: evaluate alert rules over the store, keep their states, notify, test.

Thin: rules come from :mod:`alerting.rules`, one evaluation is :func:`alerting.check.run_check`,
states live in :class:`alerting.state.alerts.AlertStore`, silences in
:class:`alerting.state.silences.SilenceStore`; rendering is :mod:`render.alerts`.
"""

from __future__ import annotations

import getpass
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.options import ConfigOption, FormatOption, OutputFormat, StoreOption
from pyflare_cli.errors import GateFailed, UsageError

if TYPE_CHECKING:
    from pyflare_cli.alerting.check import CheckOutcome
    from pyflare_cli.alerting.rules.model import RuleFile

alert_app = typer.Typer(
    help="Alert rules over the span store: states, silences, notifications, rule tests."
    "\n\nExample:\n\n    pyflare alert check --rules alerts.yaml",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
silence_app = typer.Typer(help="Mute notifications of matching alerts for a while.")
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
Who = Annotated[str | None, typer.Option("--by", help="Who (default: your user name).")]


def register(app: typer.Typer) -> None:
    app.add_typer(alert_app, name="alert")


def _rule_path(rules: Path | None, config: Path | None) -> Path:
    from pyflare_cli.config.file import load_config

    if rules is not None:
        return rules
    cfg = load_config(config)
    section = cfg.raw.get("alerts") or {}
    configured = section.get("rules") if isinstance(section, dict) else None
    if configured:
        base = cfg.path.parent if cfg.path else Path(".")
        return base / str(configured)
    return Path(DEFAULT_RULES)


def _load(rules: Path | None, config: Path | None) -> RuleFile:
    from pyflare_cli.alerting.rules.parse import load_rules

    return load_rules(_rule_path(rules, config))


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _severity(value: str) -> str:
    from pyflare_cli.alerting.model import SEVERITIES

    if value not in SEVERITIES:
        raise UsageError(f"--fail-severity {value!r}: use {', '.join(SEVERITIES)}")
    return value


def _check_once(
    rules: Path | None, config: Path | None, store: Path | None, at: datetime, notify: bool
) -> CheckOutcome:
    from pyflare_cli.alerting.check import run_check
    from pyflare_cli.config.file import load_config
    from pyflare_cli.store.layout import resolve_store

    rule_file = _load(rules, config)
    cfg = load_config(config)
    return run_check(
        resolve_store(store), rule_file, at, cfg.budgets, cfg.price_rules, notify=notify
    )


def _report(outcome: CheckOutcome, fmt: OutputFormat) -> None:
    from pyflare_cli.render.alerts import emit_alerts
    from pyflare_cli.render.output import console

    out = console()
    shown = [
        a for a in outcome.alerts if a.state in ("pending", "firing") or a in _changed(outcome)
    ]
    emit_alerts(out, shown, fmt.value)
    for name, reason in outcome.errors.items():
        typer.echo(f"warning: alert {name} not evaluated: {reason}", err=True)
    for delivery in outcome.deliveries:
        if delivery.status == "failed":
            typer.echo(
                f"warning: notification to {delivery.target} failed ({delivery.detail}); "
                "kept for the next check",
                err=True,
            )


def _changed(outcome: CheckOutcome) -> list[Any]:
    fps = {e["fingerprint"] for e in outcome.events if e.get("to") == "resolved"}
    return [a for a in outcome.alerts if a.fingerprint in fps]


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
) -> None:
    """Evaluate every rule once, update the alert states, notify; exit 1 on firing alerts.

    Example:

        pyflare alert check --rules alerts.yaml --fail-severity critical
    """
    from pyflare_cli.alerting.model import severity_rank
    from pyflare_cli.analysis.search.time_bounds import time_bound

    level = severity_rank(_severity(fail_severity))
    moment = time_bound(at, now()) if at else now()
    outcome = _check_once(rules, config, store, moment, notify=not no_notify)
    _report(outcome, fmt)
    firing = [
        a for a in outcome.alerts if a.state == "firing" and severity_rank(a.severity) >= level
    ]
    if firing:
        names = ", ".join(sorted({a.name for a in firing}))
        raise GateFailed(f"{len(firing)} alert(s) firing at {fail_severity} or above: {names}")


@alert_app.command("watch")
def watch(
    rules: RulesOption = None,
    interval: Annotated[
        str, typer.Option("--interval", help="Time between evaluations: 30s, 1m, 5m.")
    ] = "1m",
    max_runs: Annotated[
        int | None, typer.Option("--max-runs", min=1, help="Stop after N evaluations.")
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Evaluate continuously until Ctrl-C or SIGTERM (or --max-runs), one line per change.

    Example:

        pyflare alert watch --interval 1m --rules alerts.yaml
    """
    from pyflare_cli.analysis.search.time_bounds import parse_duration_ns

    ns = parse_duration_ns(interval)
    if ns is None or ns < 1_000_000_000:
        raise UsageError(f"--interval {interval!r}: use a duration of at least 1s, e.g. 1m")
    _load(rules, config)  # a bad rule file stops here, before the loop
    stop = {"now": False}

    def request_stop(signum: int, frame: Any) -> None:
        stop["now"] = True

    previous = signal.signal(signal.SIGTERM, request_stop)
    runs = 0
    try:
        while not stop["now"]:
            started = time.monotonic()
            outcome = _check_once(rules, config, store, now(), notify=True)
            runs += 1
            for event in outcome.events:
                typer.echo(
                    f"{event['time']:%Y-%m-%d %H:%M:%S} {event['alertname']} "
                    f"{event.get('from')} -> {event['to']} {event.get('labels') or ''}"
                )
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
    from pyflare_cli.render.alerts import emit_rows
    from pyflare_cli.render.output import console
    from pyflare_cli.store.layout import resolve_store

    events = AlertStore(resolve_store(store)).history()
    if alert:
        events = [e for e in events if e.get("alertname") == alert]
    if since:
        bound = time_bound(since, now())
        events = [e for e in events if datetime.fromisoformat(e["time"]) >= bound]
    rows = [
        {
            "time": e["time"][:19].replace("T", " "),
            "alert": e.get("alertname") or e.get("target", "-"),
            "change": f"{e.get('from', '')} -> {e['to']}" if e.get("from") else e["to"],
            "id": (e.get("fingerprint") or "")[:8] or "-",
            "detail": e.get("comment") or e.get("detail") or e.get("labels") or "-",
        }
        for e in events[-limit:]
    ]
    emit_rows(
        console(),
        rows if fmt is not OutputFormat.json else events[-limit:],
        fmt.value,
        "no history",
    )


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

    alert = AlertStore(resolve_store(store)).acknowledge(alert_id, _who(by), comment, now())
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

    alert = AlertStore(resolve_store(store)).resolve(alert_id, _who(by), now())
    typer.echo(f"resolved {alert.fingerprint[:8]} {alert.name}")


@alert_app.command("rules")
def list_rules(
    rules: RulesOption = None, config: ConfigOption = None, fmt: FormatOption = OutputFormat.table
) -> None:
    """Check the rule file and list its rules (exit 2 naming the file and line if invalid).

    Example:

        pyflare alert rules --rules alerts.yaml
    """
    from pyflare_cli.render.alerts import emit_rows
    from pyflare_cli.render.output import console

    rule_file = _load(rules, config)
    rows = [
        {
            "alert": r.name,
            "group": r.group,
            "condition": type(r.condition).__name__.lower().replace("condition", ""),
            "window": str(r.window),
            "for": str(r.for_),
            "severity": r.severity,
            "source": r.source,
        }
        for r in rule_file.rules
    ]
    emit_rows(console(), rows, fmt.value, "no rules")


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


@silence_app.command("add")
def silence_add(
    matcher: Annotated[
        list[str], typer.Option("--matcher", "-m", help="label=value, !=, =~regex or !~regex.")
    ],
    duration: Annotated[str, typer.Option("--duration", "-d", help="How long: 30m, 2h, 1d.")],
    comment: Annotated[str, typer.Option("--comment", "-c", help="Why.")],
    start: Annotated[str | None, typer.Option("--start", help="Start (ISO); default now.")] = None,
    by: Who = None,
    store: StoreOption = None,
) -> None:
    """Silence matching alerts' notifications for a while (their states still change).

    Example:

        pyflare alert silence add -m 'model=~gpt-4.*' -d 2h -c "provider incident"
    """
    from pyflare_cli.alerting.muting.matchers import parse_matchers
    from pyflare_cli.alerting.state.alerts import alerts_folder
    from pyflare_cli.alerting.state.silences import SilenceStore
    from pyflare_cli.analysis.search.time_bounds import parse_duration_ns, time_bound
    from pyflare_cli.store.layout import resolve_store

    try:
        matchers = parse_matchers(matcher)
    except ValueError as exc:
        raise UsageError(f"--matcher: {exc}") from None
    ns = parse_duration_ns(duration)
    if ns is None or ns <= 0:
        raise UsageError(f"--duration {duration!r}: use a duration such as 30m, 2h or 1d")
    at = now()
    begins = time_bound(start, at) if start else at
    silences = SilenceStore(alerts_folder(resolve_store(store)))
    try:
        silence = silences.add(
            matchers, begins, begins + timedelta(microseconds=ns // 1000), _who(by), comment, at
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    typer.echo(f"silence {silence.id} until {silence.ends_at:%Y-%m-%d %H:%M} UTC")


@silence_app.command("list")
def silence_list(
    include_expired: Annotated[bool, typer.Option("--all", help="Also expired ones.")] = False,
    store: StoreOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Pending and active silences (and expired ones with --all).

    Example:

        pyflare alert silence list
    """
    from pyflare_cli.alerting.state.alerts import alerts_folder
    from pyflare_cli.alerting.state.silences import SilenceStore
    from pyflare_cli.render.alerts import emit_rows
    from pyflare_cli.render.output import console
    from pyflare_cli.store.layout import resolve_store

    at = now()
    silences = SilenceStore(alerts_folder(resolve_store(store))).list(at, include_expired)
    rows = [
        {
            "id": s.id,
            "state": s.state(at),
            "matchers": " ".join(str(m) for m in s.matchers),
            "starts": f"{s.starts_at:%Y-%m-%d %H:%M}",
            "ends": f"{s.ends_at:%Y-%m-%d %H:%M}",
            "by": s.created_by,
            "comment": s.comment,
        }
        for s in silences
    ]
    emit_rows(console(), rows, fmt.value, "no silences")


@silence_app.command("expire")
def silence_expire(
    silence_id: Annotated[str, typer.Argument(help="Silence id (a prefix is enough).")],
    store: StoreOption = None,
) -> None:
    """End a silence now.

    Example:

        pyflare alert silence expire 1a2b3c4d
    """
    from pyflare_cli.alerting.state.alerts import alerts_folder
    from pyflare_cli.alerting.state.silences import SilenceStore
    from pyflare_cli.store.layout import resolve_store

    try:
        silence = SilenceStore(alerts_folder(resolve_store(store))).expire(silence_id, now())
    except KeyError as exc:
        raise UsageError(str(exc.args[0]) if exc.args else f"no silence {silence_id!r}") from None
    typer.echo(f"expired silence {silence.id}")
