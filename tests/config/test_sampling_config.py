"""The sampling section of pyflare.yaml: full section, defaults, errors naming file and key."""

from __future__ import annotations

from typing import Any

import pytest

from pyflare_cli.config.sampling import parse_sampling
from pyflare_cli.errors import UsageError
from pyflare_cli.ingest.sampling import SamplingConfig, SamplingRule


def test_parse_full_section() -> None:
    section = {
        "ratio": 0.25,
        "keep_errors": False,
        "rules": [
            {"service": "chat-gateway", "ratio": 0.1},
            {"name": "GET /healthz", "ratio": 0},
            {
                "attributes": {"http.route": "/healthz", "deployment.environment.name": "staging"},
                "ratio": 0.05,
            },
            {"service": "api", "name": "POST *", "attributes": {"http.status": 500}, "ratio": 1},
        ],
    }
    assert parse_sampling(section, "pyflare.yaml") == SamplingConfig(
        ratio=0.25,
        keep_errors=False,
        rules=(
            SamplingRule(ratio=0.1, service="chat-gateway"),
            SamplingRule(ratio=0.0, name="GET /healthz"),
            SamplingRule(
                ratio=0.05,
                attributes=(("http.route", "/healthz"), ("deployment.environment.name", "staging")),
            ),
            SamplingRule(
                ratio=1.0, service="api", name="POST *", attributes=(("http.status", "500"),)
            ),
        ),
    )


def test_parse_absent_and_defaults() -> None:
    assert parse_sampling(None, "f.yaml") is None
    assert parse_sampling(False, "f.yaml") is None
    assert parse_sampling({}, "f.yaml") == SamplingConfig(ratio=1.0, keep_errors=True, rules=())
    assert parse_sampling({"ratio": 0, "rules": None}, "f.yaml") == SamplingConfig(ratio=0.0)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ([1], "sampling must be a mapping"),
        ({"rate": 0.1}, "sampling.rate is not a known key; use ratio, keep_errors, rules"),
        ({"ratio": 1.5}, "sampling.ratio must be a number from 0 to 1, not 1.5"),
        ({"ratio": -0.1}, "sampling.ratio must be a number from 0 to 1, not -0.1"),
        ({"ratio": "10%"}, "sampling.ratio must be a number from 0 to 1, not '10%'"),
        ({"ratio": True}, "sampling.ratio must be a number from 0 to 1, not True"),
        ({"ratio": float("nan")}, "sampling.ratio must be a number from 0 to 1, not nan"),
        ({"keep_errors": "yes"}, "sampling.keep_errors must be true or false"),
        ({"rules": {"service": "a"}}, "sampling.rules must be a list of rules"),
        ({"rules": ["a"]}, "sampling.rules[0] must be a mapping with a ratio and a match"),
        (
            {"rules": [{"name": "a", "ratio": 1}, {"span": "a", "ratio": 1}]},
            "sampling.rules[1].span is not a known key; use service, name, attributes, ratio",
        ),
        ({"rules": [{"name": "a"}]}, "sampling.rules[0].ratio is missing"),
        ({"rules": [{"name": "a", "ratio": 2}]}, "sampling.rules[0].ratio must be a number"),
        (
            {"rules": [{"ratio": 0.5}]},
            "sampling.rules[0] needs at least one of service, name, attributes",
        ),
        ({"rules": [{"service": "", "ratio": 0}]}, "sampling.rules[0].service must be a non-empty"),
        ({"rules": [{"name": ["a"], "ratio": 0}]}, "sampling.rules[0].name must be a non-empty"),
        (
            {"rules": [{"attributes": ["http.route"], "ratio": 0}]},
            "sampling.rules[0].attributes must be a non-empty mapping",
        ),
        ({"rules": [{"attributes": {}, "ratio": 0}]}, "sampling.rules[0].attributes must be a"),
        (
            {"rules": [{"attributes": {"http.route": None}, "ratio": 0}]},
            "sampling.rules[0].attributes.http.route must be a non-empty text or glob, not None",
        ),
    ],
)
def test_invalid_section_names_file_and_key(section: Any, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_sampling(section, "conf/pyflare.yaml")
    assert caught.value.message.startswith(f"conf/pyflare.yaml: {message}")
