"""Every `pyflare ...` line in docs/ runs, on a real store, as written.

Shell examples live in ```bash blocks. Each line that starts with ``pyflare`` is run
in-process against a demo store (plus the fixture trace) from the project root; it must
exit 0. The README's tour and the pages a new user reads first run against a plain
``pyflare demo`` store instead, the README's with its claims checked (test_readme_tour.py).
The README's two set-up commands must be the ones `.ci/run` and the docs use.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from cli_support import ROOT, invoke
from typer.testing import Result

from pyflare_cli.analysis.search.compile import parse

README = ROOT / "README.md"
NEW_USER_PAGES = [ROOT / "docs" / "getting-started.md", ROOT / "docs" / "traces.md"]
"""Pages whose examples follow a plain `pyflare demo`: they run on that store instead."""
PAGES = [page for page in sorted((ROOT / "docs").glob("*.md")) if page not in NEW_USER_PAGES]
BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)


def examples(pages: list[Path]) -> list[tuple[str, str]]:
    """(page name, command) of every ``pyflare`` line; a gate's command ends with GATE."""
    found = []
    for page in pages:
        for block in BLOCK.findall(page.read_text()):
            for line in block.splitlines():
                command, _, comment = line.partition("  #")
                command = command.strip()
                if command.startswith("pyflare "):
                    gate = "exit 1" in comment  # a gate example: a breach is an answer too
                    found.append((page.name, command + (GATE if gate else "")))
    return found


GATE = "  # gate"
EXAMPLES = examples(PAGES)


def test_there_are_examples_on_every_command_page() -> None:
    pages = {page for page, _ in EXAMPLES}
    assert pages >= {"ingest.md", "store.md", "query.md", "cost.md"}


@pytest.mark.parametrize(("page", "command"), EXAMPLES, ids=[c for _, c in EXAMPLES])
def test_example_runs(
    page: str, command: str, demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_example(page, command, demo_store, tmp_path, monkeypatch)


def run_example(
    page: str, command: str, demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[Result]:
    """Run one example line (``a && b`` as two runs) as written; return every run's result.

    A command that writes runs on a copy of ``demo_store``; one that names fixtures/ or
    docs/examples/ runs from the project root, any other from an empty folder.
    """
    command, gate = command.removesuffix(GATE), command.endswith(GATE)
    store = tmp_path / "store"
    writes = (
        "pyflare store compact",
        "pyflare store prune",
        "pyflare store repair",
        "pyflare ingest",
        "pyflare demo",
        "pyflare alert check",
        "pyflare alert watch",
        "pyflare alert ack",
        "pyflare alert resolve",
        "pyflare alert silence",
        "pyflare eval run",
    )
    if command.startswith(writes):
        import shutil

        shutil.copytree(demo_store, store)
    else:
        store = demo_store
    in_repo = "fixtures/" in command or "docs/examples/" in command
    monkeypatch.chdir(ROOT if in_repo else tmp_path)
    parts = []
    for part in shlex.split(command.replace("&& pyflare", "&&pyflare"))[1:]:
        parts.append(part)
    runs = [[]]  # type: list[list[str]]
    for part in parts:
        if part == "&&pyflare":
            runs.append([])
        else:
            runs[-1].append(part)
    allowed = (0, 1) if gate else (0,)
    results = []
    for args in runs:
        result = invoke(*args, env={"PYFLARE_STORE": str(store)})
        assert result.exit_code in allowed, f"{page}: {command}\n{result.output}"
        results.append(result)
    return results


def test_readme_setup_commands_are_what_ci_runs() -> None:
    readme = README.read_text()
    blocks = BLOCK.findall(readme)
    demo_cmd, test_cmd = blocks[0].strip(), blocks[1].strip()
    assert demo_cmd.endswith("pyflare demo")
    assert test_cmd.endswith("python -m pytest")
    assert test_cmd in (ROOT / ".ci" / "run").read_text().splitlines()


def test_search_docs_queries_parse() -> None:
    text = (ROOT / "docs" / "search.md").read_text()
    queries = [
        line
        for block in re.findall(r"```query\n(.*?)```", text, re.DOTALL)
        for line in block.splitlines()
        if line.strip()
    ]
    assert len(queries) > 20
    for query in queries:
        parse(query)
