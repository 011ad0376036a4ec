"""Redaction of personal data and secrets: kinds, modes, where it applies, and its config."""

from __future__ import annotations

import hashlib
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.ingest.redaction import KINDS, RedactionConfig, luhn_ok, redact

CARD = "4111 1111 1111 1111"  # passes Luhn
BAD_CARD = "4111111111111112"  # fails Luhn

SAMPLES = {
    "email": "jane.doe+ai@example.co.uk",
    "phone": "+1 415-555-0123",
    "api_key": "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0",
    "card": CARD,
}


def spans(otlp: Any, attributes: dict[str, Any], **span: Any) -> pl.DataFrame:
    return otlp.canonical(otlp.request(otlp.span(attributes=attributes, **span)))


def config(**modes: str) -> RedactionConfig:
    return RedactionConfig(modes=modes)


def expected_hash(kind: str, value: str, salt: str = "") -> str:
    return f"[{kind}:{hashlib.sha256((salt + value).encode()).hexdigest()[:12]}]"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", ["mask", "hash", "drop"])
def test_every_kind_in_every_mode(otlp: Any, kind: str, mode: str) -> None:
    secret = SAMPLES[kind]
    frame = spans(otlp, {"input.value": f"contact: {secret} thanks"})
    out = redact(frame, config(**{kind: mode})).row(0, named=True)
    replacement = {
        "mask": f"[REDACTED:{kind}]",
        "hash": expected_hash(kind, secret),
        "drop": "",
    }[mode]
    assert out["input_text"] == f"contact: {replacement} thanks"
    assert out["attributes"]["input.value"] == f"contact: {replacement} thanks"


def test_hash_is_stable_and_salted(otlp: Any) -> None:
    frame = spans(otlp, {"input.value": "a@b.io and again a@b.io"})
    plain = redact(frame, RedactionConfig(modes={"email": "hash"}))
    salted = redact(frame, RedactionConfig(modes={"email": "hash"}, salt="pepper"))
    h = expected_hash("email", "a@b.io")
    assert plain["input_text"][0] == f"{h} and again {h}"
    assert salted["input_text"][0] == f"{expected_hash('email', 'a@b.io', 'pepper')} and again " + (
        expected_hash("email", "a@b.io", "pepper")
    )
    assert plain["input_text"][0] != salted["input_text"][0]


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("5500005555555559", True),
        ("378282246310005", True),  # Amex, 15 digits
        ("4111111111111112", False),
        ("1234567890123", False),
        ("4111", False),  # too short
        ("41111111111111111111", False),  # too long
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_ok(number) is valid


def test_only_luhn_valid_numbers_are_cards(otlp: Any) -> None:
    frame = spans(otlp, {"input.value": f"pay {CARD}, ref {BAD_CARD}"})
    out = redact(frame, config(card="mask"))
    assert out["input_text"][0] == f"pay [REDACTED:card], ref {BAD_CARD}"


@pytest.mark.parametrize(
    "phone",
    ["+1 415-555-0123", "(415) 555-0123", "020 7946 0958", "+44 20 7946 0958", "555.123.4567"],
)
def test_phone_formats(otlp: Any, phone: str) -> None:
    out = redact(spans(otlp, {"input.value": f"call {phone} now"}), config(phone="mask"))
    assert out["input_text"][0] == "call [REDACTED:phone] now"


@pytest.mark.parametrize(
    "key",
    [
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a" * 36,
        "xoxb-1234567890-abcdef",
        "AIza" + "B" * 35,
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0",
    ],
)
def test_api_key_formats(otlp: Any, key: str) -> None:
    out = redact(spans(otlp, {"input.value": f"key={key}"}), config(api_key="mask"))
    assert out["input_text"][0] == "key=[REDACTED:api_key]"


def test_longest_match_wins_over_a_phone_inside_a_card(otlp: Any) -> None:
    frame = spans(otlp, {"input.value": f"card {CARD}"})
    out = redact(frame, RedactionConfig())  # every kind, mask
    assert out["input_text"][0] == "card [REDACTED:card]"


def test_applies_to_text_and_their_source_attributes_only(otlp: Any) -> None:
    email = "jane@example.com"
    attributes = {
        "llm.input_messages.0.message.content": f"I am {email}",
        "llm.input_messages.1.message.content": "second",
        "gen_ai.completion.0.content": f"Hello {email}",
        "gen_ai.input.messages": f'[{{"content": "{email}"}}]',
        "user.email": email,  # not a text source: left alone
        "http.request.body": f"body {email}",  # only when configured
    }
    frame = spans(otlp, attributes)
    out = redact(frame, config(email="mask")).row(0, named=True)
    assert out["input_text"] == "[REDACTED:email]"  # the readable text of the messages
    assert out["output_text"] == "Hello [REDACTED:email]"
    assert out["attributes"] == {
        "llm.input_messages.0.message.content": "I am [REDACTED:email]",
        "llm.input_messages.1.message.content": "second",
        "gen_ai.completion.0.content": "Hello [REDACTED:email]",
        "gen_ai.input.messages": '[{"content": "[REDACTED:email]"}]',
        "user.email": email,
        "http.request.body": f"body {email}",
    }
    extra = RedactionConfig(modes={"email": "mask"}, attributes=("http.request.body",))
    assert redact(frame, extra)["attributes"][0]["http.request.body"] == "body [REDACTED:email]"
    # Untouched columns stay identical.
    rest = [c for c in frame.columns if c not in ("input_text", "output_text", "attributes")]
    assert_frame_equal(redact(frame, config(email="mask")).select(rest), frame.select(rest))


def test_deprecated_prompt_events_are_redacted_too(otlp: Any) -> None:
    events = [
        ("gen_ai.content.prompt", 1, {"gen_ai.prompt": "mail me at bob@corp.io"}),
        ("other", 2, {"note": "bob@corp.io"}),
    ]
    out = redact(spans(otlp, {}, events=events), config(email="mask")).row(0, named=True)
    assert out["input_text"] == "mail me at [REDACTED:email]"
    assert out["events"][0]["attributes"] == {"gen_ai.prompt": "mail me at [REDACTED:email]"}
    assert out["events"][0]["name"] == "gen_ai.content.prompt"
    assert out["events"][1]["attributes"] == {"note": "bob@corp.io"}


def test_kinds_not_configured_are_kept(otlp: Any) -> None:
    text = "a@b.io +1 415-555-0123"
    out = redact(spans(otlp, {"input.value": text}), config(email="drop"))
    assert out["input_text"][0] == " +1 415-555-0123"


def test_per_kind_modes(otlp: Any) -> None:
    text = "a@b.io +1 415-555-0123"
    out = redact(spans(otlp, {"output.value": text}), config(email="hash", phone="mask"))
    assert out["output_text"][0] == f"{expected_hash('email', 'a@b.io')} [REDACTED:phone]"


def test_nothing_to_redact_returns_the_frame_unchanged(otlp: Any) -> None:
    frame = spans(otlp, {"input.value": "nothing personal"})
    assert_frame_equal(redact(frame, RedactionConfig()), frame)
    assert redact(frame.clear(), RedactionConfig()).height == 0


def test_many_spans(otlp: Any) -> None:
    many = [
        otlp.span(f"{i + 1:016x}", attributes={"input.value": f"user{i}@x.org" if i % 2 else "ok"})
        for i in range(50)
    ]
    out = redact(otlp.canonical(otlp.request(*many)), config(email="mask"))
    assert out["input_text"].to_list() == ["[REDACTED:email]" if i % 2 else "ok" for i in range(50)]


# Configuration.
