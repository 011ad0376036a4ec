"""The current window, the one before it and a reference: one rule, every command alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import Result

from pyflare_cli.errors import UsageError
from pyflare_cli.query.windows import (
    Window,
    baseline_window,
    current_window,
    parse_range,
    reference_window,
    trailing_window,
)

NOW = "2026-11-20T12:00:00+00:00"
"""The now of the ``pyflare`` fixture (tests/query/conftest.py)."""
AT = datetime.fromisoformat(NOW)
DAY = timedelta(days=1)
Pyflare = Callable[..., Result]


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_current_window_from_since_until_and_now() -> None:
    assert current_window("3d", None, AT) == Window(AT - 3 * DAY, AT)
    assert current_window("3d", "1d", AT) == Window(AT - 3 * DAY, AT - DAY)
    assert current_window("2026-11-15T06:00:00Z", None, AT).start == _day("2026-11-15T06:00")


def test_a_date_only_until_ends_where_that_day_begins() -> None:
    # as `--until` everywhere and `until:` in queries: spans that started before it
    window = current_window("2026-11-15", "2026-11-18", AT)
    assert window == Window(_day("2026-11-15"), _day("2026-11-18"))


@pytest.mark.parametrize(("since", "until"), [("1h", "2h"), ("2026-11-18", "2026-11-18")])
def test_an_empty_or_inverted_window_is_refused(since: str, until: str) -> None:
    with pytest.raises(UsageError, match=f"--since {since} starts after --until {until}"):
        current_window(since, until, AT)


def test_a_since_after_now_names_now() -> None:
    with pytest.raises(UsageError, match=r"starts after now \(2026-11-20 12:00 UTC\)"):
        current_window("2026-12-01", None, AT)


def test_the_previous_window_has_the_same_length_and_ends_at_the_start() -> None:
    current = current_window("2026-11-15", "2026-11-18", AT)
    assert current.previous() == Window(_day("2026-11-12"), _day("2026-11-15"))
    assert trailing_window(3 * DAY, AT).previous() == Window(AT - 6 * DAY, AT - 3 * DAY)


def test_a_range_with_a_date_only_end_runs_through_that_day() -> None:
    assert parse_range("2026-11-01..2026-11-07", AT, "--reference") == current_window(
        "2026-11-01", "2026-11-08", AT
    )
    assert parse_range("7d..1d", AT, "--reference") == Window(AT - 7 * DAY, AT - DAY)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-11-05", "use START..END"),
        ("..2026-11-05", "use START..END"),
        ("2026-11-07..2026-11-01", "the end must be after the start"),
        ("1d..2d", "the end must be after the start"),
    ],
)
def test_bad_ranges(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_range(text, AT, "--reference")


def test_reference_of_days_before_or_explicit_without_overlap() -> None:
    current = current_window("24h", None, AT)
    assert reference_window(None, 7, current, AT) == Window(AT - 8 * DAY, AT - DAY)
    explicit = reference_window("2026-11-01..2026-11-07", 7, current, AT)
    assert explicit == Window(_day("2026-11-01"), _day("2026-11-08"))
    with pytest.raises(UsageError, match="overlaps the current window"):
        reference_window("2026-11-19..2026-11-20", 7, current, AT)


def test_a_reference_after_a_bounded_window_does_not_overlap_it() -> None:
    current = current_window("2026-11-15", "2026-11-18", AT)
    after = reference_window("2026-11-18..2026-11-19", 7, current, AT)
    assert after == Window(_day("2026-11-18"), _day("2026-11-20"))


def test_baseline_defaults_to_the_previous_window_each_bound_apart() -> None:
    target = current_window("1d", None, AT)
    assert baseline_window(None, None, target, AT) == target.previous()
    assert baseline_window("3d", None, target, AT) == Window(AT - 3 * DAY, AT - DAY)
    assert baseline_window(None, "36h", target, AT) == Window(AT - 2 * DAY, AT - 36 * DAY / 24)
    assert baseline_window("1d", "now", target, AT) == target  # rca's null comparison
    with pytest.raises(UsageError, match="the baseline window is empty"):
        baseline_window("2d", "3d", target, AT)


# Every command that compares a window with the one before it, on the same options.

MODEL = "gpt-4o-mini"


def _alert_rules(tmp_path: Path, window: str, days: int) -> Path:
    rules = tmp_path / "alerts.yaml"
    rules.write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: Drift\n"
        f"        drift: {{model: {MODEL}, reference_days: {days}}}\n"
        f"        window: {window}\n"
    )
    return rules


def _commands(
    tmp_path: Path, since: str, until: str | None, days: int
) -> dict[str, tuple[str, ...]]:
    store = ("--store", str(tmp_path))  # an existing (empty) store
    bound = ("--until", until) if until else ()
    at = f"{until}T00:00:00+00:00" if until else NOW
    alert_window = "0s" if days == 0 else f"{days}d"
    return {
        "cost": ("cost", "--since", since, *bound, *store, "--format", "json"),
        "rca": ("rca", "--since", since, *bound, *store, "--format", "json"),
        "drift": ("drift", "--model", MODEL, "--since", since, *bound,
                  "--reference-days", str(max(days, 1)), *store),
        "alert": ("alert", "check", "--rules", str(_alert_rules(tmp_path, alert_window, days)),
                  "--at", at, "--no-notify", *store),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("since", "until", "windows"),
    [
        ("3d", None, (Window(AT - 3 * DAY, AT), Window(AT - 6 * DAY, AT - 3 * DAY))),
        (
            "2026-11-15",
            "2026-11-18",
            (
                Window(_day("2026-11-15"), _day("2026-11-18")),
                Window(_day("2026-11-12"), _day("2026-11-15")),
            ),
        ),
        ("2d", "3d", None),
        ("2026-11-18", "2026-11-18", None),
    ],
)
def test_cost_rca_drift_and_alerts_agree_on_the_previous_window(
    pyflare: Pyflare,
    loads: list[tuple[datetime | None, datetime | None]],
    tmp_path: Path,
    since: str,
    until: str | None,
    windows: tuple[Window, Window] | None,
) -> None:
    """Each reads the current window and the one before it, or each refuses (exit 2) an
    empty window before reading anything. Drift and the alert check compare with the
    reference of as many days as the window lasts; the alert check ends at ``--at``."""
    days = 0 if windows is None else windows[0].length.days
    read = {}
    for name, args in _commands(tmp_path, since, until, days).items():
        loads.clear()
        result = pyflare(*args)
        read[name] = set(loads)
        if windows is None:
            assert result.exit_code == 2, (name, result.output)
            if name != "alert":  # an alert rule's window is checked with the rule file
                empty = f"--since {since} starts after --until {until}: the window is empty"
                assert empty in result.stderr, (name, result.stderr)
    expected = set() if windows is None else {(w.start, w.end) for w in windows}
    if windows is not None:
        # rca also looks up when a value was first seen, in everything before the target
        # window (so a version seen last week is not "new"): a read, not a window.
        first_seen = (None, windows[0].start)
        assert first_seen in read["rca"]
        read["rca"].discard(first_seen)
    assert read == dict.fromkeys(read, expected)


def test_the_cost_gate_does_not_pass_on_an_empty_window(pyflare: Pyflare, tmp_path: Path) -> None:
    store = ("--store", str(tmp_path))  # an existing (empty) store
    result = pyflare("cost", "check", "--max-total", "1", "--since", "1h", "--until", "2h", *store)
    assert result.exit_code == 2 and "the window is empty" in result.stderr


def test_drift_takes_a_reference_after_a_bounded_current_window(
    pyflare: Pyflare, loads: list[tuple[datetime | None, datetime | None]], tmp_path: Path
) -> None:
    result = pyflare("drift", "--model", MODEL, "--since", "2026-11-15", "--until", "2026-11-18",
                     "--reference", "2026-11-18..2026-11-19", "--store", str(tmp_path))  # fmt: skip
    assert "overlaps" not in result.stderr
    assert set(loads) == {
        (_day("2026-11-15"), _day("2026-11-18")),
        (_day("2026-11-18"), _day("2026-11-20")),
    }
