"""Checks every section of ``pyflare.yaml`` shares, so each error reads the same way.

Every error names the file and the key at fault (``pyflare.yaml: sampling.rate is not a
known key; use ratio, keep_errors, rules``) and exits 2, before any span is read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from pyflare_cli.errors import UsageError


def known_keys(section: dict[str, Any], keys: Iterable[str], where: str, prefix: str) -> None:
    """Refuse the first key of ``section`` that is not in ``keys``."""
    allowed = tuple(keys)
    for key in section:
        if key not in allowed:
            raise UsageError(
                f"{where}: {prefix}.{key} is not a known key; use {', '.join(allowed)}"
            )


def is_number(value: Any) -> bool:
    """A finite int or float; YAML's ``true`` is not a number."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def ratio(value: Any, where: str, key: str) -> float:
    """A number from 0 to 1."""
    if not is_number(value) or not 0 <= value <= 1:
        raise UsageError(f"{where}: {key} must be a number from 0 to 1, not {value!r}")
    return float(value)


def mapping(value: Any, where: str, what: str) -> dict[str, Any]:
    """An optional mapping: ``{}`` when absent."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"{where} must map {what}")
    return value
