"""Dated report names (`--out 'report-{date}.html'`) and `--keep N`: each field filled
from the window, only files that read back as this template's dates are ever deleted,
the newest kept by the dates in their names, never the file just written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pyflare_cli.errors import UsageError
from pyflare_cli.query.windows import Window
from pyflare_cli.render.report.dated import dated, is_dated, rotate

WEEK = Window(datetime(2026, 11, 13, 13, tzinfo=UTC), datetime(2026, 11, 20, 13, tzinfo=UTC))
DAY = Window(datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC))


@pytest.mark.parametrize(
    ("name", "window", "expected"),
    [
        ("report-{date}.html", WEEK, "report-2026-11-20.html"),
        # a window ending at midnight is the day before it
        ("report-{date}.html", DAY, "report-2026-11-19.html"),
        ("r-{start}--{end}.md", DAY, "r-2026-11-19--2026-11-20.md"),
        ("r-{end:%Y%m%dT%H%M}.html", WEEK, "r-20261120T1300.html"),
        ("r-{date:%G-W%V}.pdf", WEEK, "r-2026-W47.pdf"),
        ("report.html", WEEK, "report.html"),
        ("a{{b}}.html", WEEK, "a{b}.html"),
    ],
)
def test_fields_are_filled_from_the_window(name: str, window: Window, expected: str) -> None:
    assert dated(Path("out") / name, window) == Path("out") / expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("report-{day}.html", "unknown field {day}"),
        ("report-{date!r}.html", "unknown field {date}"),
        ("report-{date.html", "--out report-{date.html:"),
    ],
)
def test_bad_fields_are_usage_errors(name: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("{", r"\{").replace(".", r"\.")):
        is_dated(Path(name))


def test_a_field_cannot_make_a_path() -> None:
    with pytest.raises(UsageError, match="bad file name"):
        dated(Path("r-{date:%x}.html"), WEEK)  # 11/20/26


def test_keep_deletes_the_oldest_of_the_template_only(tmp_path: Path) -> None:
    template = tmp_path / "weekly-{date}.html"
    names = [f"weekly-2026-11-{d:02d}.html" for d in (6, 13, 20, 27)]
    others = [
        "weekly-2026-13-01.html",  # not a date
        "weekly-2026-11-6.html",  # not this format (it would print 06)
        "weekly-2026-11-06.html.bak",
        "monthly-2026-10-01.html",
        "notes.txt",
    ]
    for name in names + others:
        (tmp_path / name).write_text(name)
    (tmp_path / "weekly-2026-01-01.html").mkdir()  # a folder is never deleted
    written = tmp_path / "weekly-2026-11-27.html"
    removed = rotate(template, written, 2)
    assert [p.name for p in removed] == names[:2]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([*names[2:], *others, "weekly-2026-01-01.html"])


def test_keep_never_deletes_the_file_just_written(tmp_path: Path) -> None:
    template = tmp_path / "r-{start}_{end}.html"
    for name in ("r-2026-11-01_2026-11-08.html", "r-2026-11-08_2026-11-15.html"):
        (tmp_path / name).write_text("x")
    backfilled = tmp_path / "r-2026-10-01_2026-10-08.html"
    backfilled.write_text("x")
    removed = rotate(template, backfilled, 1)
    assert [p.name for p in removed] == ["r-2026-11-01_2026-11-08.html"]
    assert backfilled.exists()
    assert (tmp_path / "r-2026-11-08_2026-11-15.html").exists()


def test_a_backfilled_report_does_not_push_out_newer_ones(tmp_path: Path) -> None:
    template = tmp_path / "weekly-{date}.html"
    for day in ("2026-11-01", "2026-11-08", "2026-11-15"):
        (tmp_path / f"weekly-{day}.html").write_text(day)
    backfilled = tmp_path / "weekly-2026-10-25.html"
    backfilled.write_text("late")
    removed = rotate(template, backfilled, 2)
    assert [p.name for p in removed] == ["weekly-2026-11-01.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "weekly-2026-10-25.html",
        "weekly-2026-11-08.html",
        "weekly-2026-11-15.html",
    ]
