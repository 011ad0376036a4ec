"""The ``sampling`` section of ``pyflare.yaml``: the default ratio, error traces, the rules.

The sampling itself is :mod:`pyflare_cli.ingest.sampling`; this module only checks and
reads the section.
"""

from __future__ import annotations

import json
from typing import Any

from pyflare_cli.config.checks import known_keys, ratio
from pyflare_cli.errors import UsageError
from pyflare_cli.ingest.sampling import SamplingConfig, SamplingRule

_SECTION_KEYS = ("ratio", "keep_errors", "rules")
_RULE_KEYS = ("service", "name", "attributes", "ratio")
_MATCH_KEYS = ("service", "name", "attributes")


def _glob(value: Any, where: str, key: str, *, attribute: bool = False) -> str:
    scalar = isinstance(value, str | int | float) and (attribute or not isinstance(value, bool))
    if not scalar or value == "":
        raise UsageError(f"{where}: {key} must be a non-empty text or glob, not {value!r}")
    # Attribute values as ingest stores them: numbers and booleans JSON-encoded.
    return value if isinstance(value, str) else json.dumps(value)


def _rule(rule: Any, where: str, key: str) -> SamplingRule:
    if not isinstance(rule, dict):
        raise UsageError(f"{where}: {key} must be a mapping with a ratio and a match")
    known_keys(rule, _RULE_KEYS, where, key)
    if "ratio" not in rule:
        raise UsageError(f"{where}: {key}.ratio is missing")
    if not any(name in rule for name in _MATCH_KEYS):
        raise UsageError(f"{where}: {key} needs at least one of {', '.join(_MATCH_KEYS)}")
    attributes = rule.get("attributes", {})
    if not isinstance(attributes, dict) or (not attributes and "attributes" in rule):
        raise UsageError(
            f"{where}: {key}.attributes must be a non-empty mapping of attribute key -> glob"
        )
    return SamplingRule(
        ratio=ratio(rule["ratio"], where, f"{key}.ratio"),
        service=_glob(rule["service"], where, f"{key}.service") if "service" in rule else None,
        name=_glob(rule["name"], where, f"{key}.name") if "name" in rule else None,
        attributes=tuple(
            (str(k), _glob(v, where, f"{key}.attributes.{k}", attribute=True))
            for k, v in attributes.items()
        ),
    )


def parse_sampling(section: Any, where: str) -> SamplingConfig | None:
    """The ``sampling`` section of the config file, validated; None when absent.

    Every error names the file (``where``) and the key at fault.
    """
    if section is None or section is False:
        return None
    if not isinstance(section, dict):
        raise UsageError(f"{where}: sampling must be a mapping")
    known_keys(section, _SECTION_KEYS, where, "sampling")
    keep_errors = section.get("keep_errors", True)
    if not isinstance(keep_errors, bool):
        raise UsageError(f"{where}: sampling.keep_errors must be true or false")
    rules = section.get("rules") or []
    if not isinstance(rules, list):
        raise UsageError(f"{where}: sampling.rules must be a list of rules")
    return SamplingConfig(
        ratio=ratio(section.get("ratio", 1.0), where, "sampling.ratio"),
        keep_errors=keep_errors,
        rules=tuple(_rule(r, where, f"sampling.rules[{i}]") for i, r in enumerate(rules)),
    )
