"""The Markdown summary of `pyflare report` on the demo store, against a reviewed snapshot
(tests/commands/snapshots/report.md; PYFLARE_UPDATE_SNAPSHOTS=1 rewrites it), and the
escaping of data strings for Markdown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_support import invoke

from pyflare_cli.render.report.markdown import md

SNAPSHOT = Path(__file__).parent / "snapshots" / "report.md"


def test_markdown_matches_the_snapshot(demo_store: Path) -> None:
    # every section, errors and rca included: rca breaks ties by name and picks its
    # example traces in time order, so its causes, slices and links are the same each run
    result = invoke("report", "-f", "markdown", "--store", str(demo_store))
    assert result.exit_code == 0, result.output
    if os.environ.get("PYFLARE_UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(result.stdout)
    assert result.stdout == SNAPSHOT.read_text()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a|b", "a\\|b"),
        ("<script>x</script>", "&lt;script&gt;x&lt;/script&gt;"),
        ("[/INST] **b** _i_ `c`", "\\[/INST\\] \\*\\*b\\*\\* \\_i\\_ \\`c\\`"),
        ("line\nbreak", "line break"),
        ("AT&T", "AT&amp;T"),
        ("# not a heading", "\\# not a heading"),
    ],
)
def test_md_escapes_data(text: str, shown: str) -> None:
    assert md(text) == shown
