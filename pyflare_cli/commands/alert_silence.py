"""``pyflare alert silence add|list|expire``: mute the notifications of matching alerts.

Silences live in :class:`alerting.state.silences.SilenceStore`; the list is rendered by
:mod:`render.alerts`. ``pyflare alert`` (``commands/alert.py``) mounts this group.
"""

from __future__ import annotations

import getpass
from datetime import timedelta
from typing import Annotated

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.options import FormatOption, OutputFormat, StoreOption
from pyflare_cli.errors import UsageError

silence_app = typer.Typer(help="Mute notifications of matching alerts for a while.")

Who = Annotated[str | None, typer.Option("--by", help="Who (default: your user name).")]


def who(by: str | None) -> str:
    """``--by``, else the user name, else ``unknown``."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


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
            matchers, begins, begins + timedelta(microseconds=ns // 1000), who(by), comment, at
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
    from pyflare_cli.render.alerts import emit_rows, silence_rows
    from pyflare_cli.render.output import console
    from pyflare_cli.store.layout import resolve_store

    at = now()
    silences = SilenceStore(alerts_folder(resolve_store(store))).list(at, include_expired)
    emit_rows(console(), silence_rows(silences, at), fmt.value, "no silences")


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
