"""YAML that remembers where each mapping came from, so a bad rule names its file and line.

A loaded mapping is a :class:`LineDict`: a plain dict that also carries the 1-based line of
its first key. Scalars and lists are returned as usual.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pyflare_cli.errors import UsageError


class LineDict(dict[str, Any]):
    """A mapping from YAML with the line it starts on (``line``, 1-based)."""

    line: int = 0


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict(loader.construct_pairs(node, deep=True))
    result.line = node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(path: Path) -> Any:
    """The document at ``path``; exit 2 naming the file (and line) when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise UsageError(f"{path}{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from None


def line_of(value: Any, fallback: int = 0) -> int:
    return value.line if isinstance(value, LineDict) else fallback
