"""The TUI's model loads without Textual or Rich, so it runs (and is tested) headless."""

from __future__ import annotations

import subprocess
import sys

MODEL = ("data", "diff", "history", "span_info", "waterfall")


def test_the_model_imports_no_textual_and_no_rich() -> None:
    imports = "; ".join(f"import pyflare_cli.tui.model.{name}" for name in MODEL)
    check = (
        f"import sys; {imports}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_package_still_offers_the_app() -> None:
    from pyflare_cli import tui
    from pyflare_cli.tui.app import PyflareApp, create_app

    assert (tui.PyflareApp, tui.create_app) == (PyflareApp, create_app)
