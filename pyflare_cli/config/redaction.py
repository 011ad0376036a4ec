"""The ``redaction`` section of ``pyflare.yaml``: which kinds of personal data to redact, and how.

The redaction itself is :mod:`pyflare_cli.ingest.redaction`; this module only checks and
reads the section.
"""

from __future__ import annotations

from typing import Any

from pyflare_cli.config.checks import known_keys
from pyflare_cli.errors import UsageError
from pyflare_cli.ingest.redaction import KINDS, MODES, PATTERNS, RedactionConfig

_SECTION_KEYS = ("mode", "kinds", "attributes", "salt")


def parse_redaction(section: Any, where: str) -> RedactionConfig | None:
    """The ``redaction`` section of the config file, validated; None when absent.

    Every error names the file (``where``) and the key at fault.
    """
    if section is None or section is False:
        return None
    if not isinstance(section, dict):
        raise UsageError(f"{where}: redaction must be a mapping")
    known_keys(section, _SECTION_KEYS, where, "redaction")
    default = str(section.get("mode", "mask"))
    if default not in MODES:
        raise UsageError(f"{where}: redaction.mode {default!r} is not one of {', '.join(MODES)}")
    kinds = section.get("kinds", list(KINDS))
    if not isinstance(kinds, list | dict):
        raise UsageError(
            f"{where}: redaction.kinds must be a list of kinds or a mapping kind -> mode"
        )
    modes: dict[str, str] = {}
    items = kinds.items() if isinstance(kinds, dict) else ((k, default) for k in kinds)
    for kind, mode in items:
        if not isinstance(kind, str) or kind not in PATTERNS:
            raise UsageError(
                f"{where}: redaction.kinds: unknown kind {kind!r}; use {', '.join(KINDS)}"
            )
        if mode not in MODES:
            raise UsageError(
                f"{where}: redaction.kinds.{kind}: mode {mode!r} is not one of {', '.join(MODES)}"
            )
        modes[str(kind)] = str(mode)
    attributes = section.get("attributes") or []
    if not isinstance(attributes, list):
        raise UsageError(f"{where}: redaction.attributes must be a list of attribute keys")
    return RedactionConfig(modes, tuple(str(a) for a in attributes), str(section.get("salt", "")))
