"""Scheduled reports: `pyflare report --out 'weekly-{date}.html' --keep N` run by the cron
line and the GitHub Actions workflow of docs/report.md, as written there (their `pyflare`
lines run in-process on the demo store; the schedule and the workflow's shape are
checked), and the usage errors of `--keep`."""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path

import pytest
import yaml
from cli_support import ROOT, invoke

DOC = (ROOT / "docs" / "report.md").read_text()
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\d+(-\d+)?)(/\d+)?)*$")


def _block(kind: str, holding: str) -> str:
    found = [b for b in re.findall(rf"```{kind}\n(.*?)```", DOC, re.DOTALL) if holding in b]
    assert len(found) == 1, f"one {kind} block with {holding!r} in docs/report.md"
    return str(found[0])


def _schedule_is_valid(fields: list[str]) -> None:
    assert len(fields) == 5, fields
    for field, top in zip(fields, (59, 23, 31, 12, 7), strict=True):
        assert CRON_FIELD.match(field), field
        assert all(int(n) <= top for n in re.findall(r"\d+", field.split("/")[0])), field


def _run_line(line: str, store: Path, now: str, summary: Path | None = None) -> str:
    """One `pyflare ...` line in-process: its stdout appended to ``summary`` when the line
    ends with `>> "$GITHUB_STEP_SUMMARY"`, a trailing `>> log 2>&1` dropped; its stderr."""
    words = shlex.split(line)
    assert words[0] == "pyflare", line
    if words[-2:] == [">>", "$GITHUB_STEP_SUMMARY"]:
        words = words[:-2]
        assert summary is not None
    elif ">>" in words:
        assert words[words.index(">>") :][2:] in ([], ["2>&1"]), line
        words = words[: words.index(">>")]
        summary = None
    result = invoke(*words[1:], env={"PYFLARE_STORE": str(store), "PYFLARE_NOW": now})
    assert result.exit_code == 0, f"{line}\n{result.output}"
    if summary is not None and line.endswith('"$GITHUB_STEP_SUMMARY"'):
        with summary.open("a") as out:
            out.write(result.stdout)
    return result.stderr


def test_the_cron_recipe_writes_a_dated_report(
    demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block = _block("cron", "pyflare report")
    lines = [x for x in block.splitlines() if x.strip() and not x.startswith("#")]
    assert len(lines) == 1
    fields = lines[0].split()
    _schedule_is_valid(fields[:5])
    command = lines[0].split(None, 5)[5]
    cd, _, pyflare = command.partition(" && ")
    assert cd.startswith("cd ")
    assert "%" not in command  # a % ends a crontab command
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    stderr = _run_line(pyflare, demo_store, "2026-11-20T06:00:00+00:00")
    assert "wrote reports/weekly-2026-11-20.html" in stderr
    page = (tmp_path / "reports" / "weekly-2026-11-20.html").read_text()
    assert "2026-11-13 06:00..2026-11-20 06:00 UTC" in page


def test_the_github_workflow_runs_and_uploads_its_page(
    demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflow = yaml.safe_load(_block("yaml", "schedule:"))
    trigger = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads on: as True
    _schedule_is_valid(trigger["schedule"][0]["cron"].split())
    assert "workflow_dispatch" in trigger
    steps = workflow["jobs"]["report"]["steps"]
    monkeypatch.chdir(tmp_path)
    summary = tmp_path / "summary.md"
    ran = 0
    for step in steps:
        script = step.get("run", "")
        if "pyflare report" not in script:
            continue
        for line in script.strip().splitlines():
            _run_line(line, demo_store, "2026-11-20T06:00:00+00:00", summary)
            ran += 1
    assert ran == 2
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    written = [p.name for p in tmp_path.iterdir() if p.suffix == ".html"]
    assert fnmatch.filter(written, upload["with"]["path"]) == ["weekly-2026-11-20.html"]
    text = summary.read_text()
    for heading in ("## Overview", "## Cost", "## Errors", "## Root causes"):
        assert heading in text


def test_keep_rotates_the_reports_of_its_pattern(demo_store: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "daily-{date}.md")
    (tmp_path / "daily-notes.md").write_text("mine")
    for day in (17, 18, 19, 20):
        result = invoke(
            "report", "-f", "markdown", "--sections", "overview", "--since", "24h",
            "--out", out, "--keep", "2", "--store", str(demo_store),
            env={"PYFLARE_NOW": f"2026-11-{day}T00:00:00+00:00"},
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["daily-2026-11-18.md", "daily-2026-11-19.md", "daily-notes.md"]
    assert "removed 1 older report(s) (--keep 2)" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--keep", "3"], "--keep needs a dated --out"),
        (["--out", "r.html", "--keep", "3"], "--keep needs a dated --out"),
        (["-f", "markdown", "--keep", "3"], "--keep needs a dated --out"),
        (["--out", "r-{week}.html"], "unknown field {week}"),
        (
            ["-f", "markdown", "--out", "r-{date}.md", "--assets", "c", "--keep", "2"],
            "does not go with --assets",
        ),
        (["--out", "r-{date}.html", "--keep", "0"], "--keep"),
    ],
)
def test_schedule_usage_errors(
    args: list[str], message: str, demo_store: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    result = invoke("report", *args, "--store", str(demo_store))
    assert result.exit_code == 2
    assert message in result.output
    assert list(tmp_path.iterdir()) == []
