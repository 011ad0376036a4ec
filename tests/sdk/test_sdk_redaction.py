"""The SDK redacts captured content exactly as the CLI does at ingest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl
import pytest
from pyflare import redaction
from pyflare.redaction import Redaction, Redactor, make_redactor

from pyflare_cli.ingest import redaction as cli

SAMPLES = [
    "write to ana.lopez@example.co.uk or call +44 20 7946 0958 today",
    "key sk-proj-abcdefghijklmnopqrstuv1234 and AKIAABCDEFGHIJKLMNOP",
    "card 4111 1111 1111 1111 but not 1234 5678 9012 3456",
    "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
    "nothing to see here, order A-1001",
]


def test_patterns_are_the_clis() -> None:
    assert redaction.PATTERNS == cli.PATTERNS
    assert redaction.MODES == cli.MODES


@pytest.mark.parametrize("mode", ["mask", "hash", "drop"])
def test_same_output_as_the_cli(mode: str, make_spans: Callable[..., pl.DataFrame]) -> None:
    config = cli.RedactionConfig(modes=dict.fromkeys(cli.KINDS, mode), salt="pepper")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    frame = make_spans(
        *(
            {"span_id": f"{i:016x}", "start_time": start, "input_text": text}
            for i, text in enumerate(SAMPLES)
        )
    )
    expected = cli.redact(frame, config).get_column("input_text").to_list()
    sdk = Redactor(Redaction(dict.fromkeys(redaction.KINDS, mode), salt="pepper"))
    assert [sdk(text) for text in SAMPLES] == expected


def test_options() -> None:
    assert make_redactor(False) is None and make_redactor(None) is None
    masked = make_redactor(True)
    assert masked is not None and masked("a@b.io") == "[REDACTED:email]"
    dropped = make_redactor("drop")
    assert dropped is not None and dropped("x a@b.io") == "x "
    only_email = make_redactor({"kinds": {"email": "hash"}, "salt": "s"})
    assert only_email is not None
    assert only_email("a@b.io +1 555 123 4567").startswith("[email:")
    assert only_email("+1 555 123 4567") == "+1 555 123 4567"
    with pytest.raises(ValueError, match="unknown kind"):
        Redaction({"ssn": "mask"})
    with pytest.raises(ValueError, match="mode 'blur'"):
        Redaction({"email": "blur"})
