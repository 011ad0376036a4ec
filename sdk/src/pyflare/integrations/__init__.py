"""Framework integrations, turned on by ``pyflare.init(instrument=[...])`` or ``"auto"``.

Each integration is a module imported only when asked for, so ``import pyflare`` never
imports OpenAI, Anthropic, LangChain or PyTorch; one whose package is missing fails with the
extra to install (``pip install 'pyflare-sdk[openai]'``), except under ``"auto"``, which takes
the installed ones and skips the rest.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from typing import Protocol

INTEGRATIONS: dict[str, tuple[str, str]] = {
    "openai": ("pyflare.integrations.openai", "openai"),
    "anthropic": ("pyflare.integrations.anthropic", "anthropic"),
    "langchain": ("pyflare.integrations.langchain", "langchain_core"),
    "torch": ("pyflare.integrations.torch", "torch"),
}
"""name -> (our module, the package it needs)."""


class Integration(Protocol):
    """What an integration module offers."""

    def instrument(self) -> None: ...

    def uninstrument(self) -> None: ...


class MissingPackageError(ImportError):
    """An integration was asked for but its package is not installed."""


def installed(name: str) -> bool:
    """Whether the package integration ``name`` needs is importable."""
    return importlib.util.find_spec(INTEGRATIONS[name][1]) is not None


def load(name: str) -> Integration:
    """The module of integration ``name``; a clear error when its package is missing."""
    if name not in INTEGRATIONS:
        raise ValueError(f"unknown integration {name!r}; use {', '.join(INTEGRATIONS)} or 'auto'")
    module, package = INTEGRATIONS[name]
    if not installed(name):
        raise MissingPackageError(
            f"pyflare: instrument={name!r} needs the {package} package: "
            f"pip install 'pyflare-sdk[{name}]'"
        )
    loaded: Integration = importlib.import_module(module)
    return loaded


def instrument(names: Sequence[str] | str) -> list[Integration]:
    """Turn the integrations on; ``"auto"``: every one whose package is installed."""
    if isinstance(names, str):
        chosen = [n for n in INTEGRATIONS if installed(n)] if names == "auto" else [names]
    else:
        chosen = list(dict.fromkeys(names))
    done: list[Integration] = []
    for name in chosen:
        integration = load(name)
        integration.instrument()
        done.append(integration)
    return done
