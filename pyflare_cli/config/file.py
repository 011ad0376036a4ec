"""``pyflare.yaml``: the optional configuration file shared by every command.

Found at ``--config``, else ``$PYFLARE_CONFIG``, else ``./pyflare.yaml``; a missing default
file means "no configuration". Unknown sections are kept for the commands that own them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyflare_cli.analysis.cost.budgets import Budget
from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.config.budgets import parse_budgets
from pyflare_cli.config.prices import parse_price_rules
from pyflare_cli.config.redaction import parse_redaction
from pyflare_cli.config.sampling import parse_sampling
from pyflare_cli.errors import UsageError
from pyflare_cli.ingest.redaction import RedactionConfig
from pyflare_cli.ingest.sampling import SamplingConfig

CONFIG_ENV = "PYFLARE_CONFIG"
DEFAULT_CONFIG = "pyflare.yaml"


@dataclass(frozen=True)
class Config:
    """The parsed configuration; ``raw`` keeps every section for later commands."""

    path: Path | None = None
    redaction: RedactionConfig | None = None
    sampling: SamplingConfig | None = None
    saved_queries: dict[str, str] = field(default_factory=dict)
    budgets: tuple[Budget, ...] = ()
    price_rules: tuple[PriceRule, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)


def load_config(option: str | Path | None) -> Config:
    """Load the configuration the conventions point at (see module docstring)."""
    explicit = option or os.environ.get(CONFIG_ENV)
    path = Path(explicit) if explicit else Path(DEFAULT_CONFIG)
    if not path.exists():
        if explicit:
            raise UsageError(f"config file {path} does not exist")
        return Config()
    import yaml  # 40 ms: only when there is a file to read (most runs have none)

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise UsageError(f"{path}{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: the top level must be a mapping")
    queries = data.get("saved_queries") or {}
    if not isinstance(queries, dict) or not all(isinstance(v, str) for v in queries.values()):
        raise UsageError(f"{path}: saved_queries must map names to query strings")
    redaction = parse_redaction(data.get("redaction"), str(path))
    sampling = parse_sampling(data.get("sampling"), str(path))
    budgets = parse_budgets(data.get("budgets"), str(path))
    return Config(
        path=path,
        redaction=redaction,
        sampling=sampling,
        saved_queries=dict(queries),
        budgets=budgets,
        price_rules=parse_price_rules(data.get("prices"), str(path)),
        raw=data,
    )
