"""Choosing integrations: by name, "auto", and a clear message when a package is missing."""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import ModuleSpec

import pyflare
import pytest
from pyflare import integrations
from sdk_support import Recorded


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> ModuleSpec | None:
        return None if name == "openai" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(integrations.MissingPackageError) as error:
        pyflare.init(export="none", set_global=False, instrument=["openai"])
    assert str(error.value) == (
        "pyflare: instrument='openai' needs the openai package: pip install 'pyflare-sdk[openai]'"
    )
    assert "openai" not in [n for n in integrations.INTEGRATIONS if integrations.installed(n)]


def test_unknown_integration() -> None:
    with pytest.raises(ValueError, match="unknown integration 'llamaindex'"):
        integrations.load("llamaindex")


def test_auto_takes_the_installed_ones(traced: Recorded) -> None:
    done = integrations.instrument("auto")
    traced.handle.instrumented = done
    names = sorted(m.__name__.rsplit(".", 1)[1] for m in done)  # type: ignore[attr-defined]
    assert names == sorted(n for n in integrations.INTEGRATIONS if integrations.installed(n))
    assert {"anthropic", "langchain", "openai"} <= set(names)


def test_importing_pyflare_imports_no_framework() -> None:
    import subprocess

    code = (
        "import sys, pyflare; "
        "print([m for m in ('openai', 'anthropic', 'langchain_core', 'torch') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": ":".join(p for p in sys.path if p)},
    )
    assert out.stdout.strip() == "[]"
