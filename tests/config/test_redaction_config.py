"""The redaction section of pyflare.yaml: defaults, full section, errors naming file and key."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pyflare_cli.config.redaction import parse_redaction
from pyflare_cli.errors import UsageError
from pyflare_cli.ingest.redaction import KINDS, RedactionConfig


def test_parse_defaults() -> None:
    assert parse_redaction(None, "f.yaml") is None
    assert parse_redaction(False, "f.yaml") is None
    parsed = parse_redaction({}, "f.yaml")
    assert parsed == RedactionConfig(modes=dict.fromkeys(KINDS, "mask"))


def test_parse_full_section() -> None:
    parsed = parse_redaction(
        {"mode": "hash", "kinds": ["email", "card"], "attributes": ["a.b"], "salt": 42},
        "f.yaml",
    )
    assert parsed == RedactionConfig(
        modes={"email": "hash", "card": "hash"}, attributes=("a.b",), salt="42"
    )
    per_kind = parse_redaction({"kinds": {"email": "drop", "phone": "mask"}}, "f.yaml")
    assert per_kind is not None and per_kind.modes == {"email": "drop", "phone": "mask"}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("mask", "pyflare.yaml: redaction must be a mapping"),
        ({"mode": "shred"}, "pyflare.yaml: redaction.mode 'shred' is not one of mask, hash, drop"),
        ({"kinds": ["email", "ssn"]}, "pyflare.yaml: redaction.kinds: unknown kind 'ssn'"),
        ({"kinds": {"email": "burn"}}, "pyflare.yaml: redaction.kinds.email: mode 'burn'"),
        ({"kinds": "email"}, "pyflare.yaml: redaction.kinds must be a list"),
        ({"kinds": [["email"]]}, "pyflare.yaml: redaction.kinds: unknown kind"),
        ({"attributes": "http.body"}, "pyflare.yaml: redaction.attributes must be a list"),
        ({"mdoe": "hash"}, "pyflare.yaml: redaction.mdoe is not a known key"),
    ],
)
def test_parse_errors_name_the_file_and_key(section: Any, message: str) -> None:
    with pytest.raises(UsageError, match="^" + re.escape(message)):
        parse_redaction(section, "pyflare.yaml")
