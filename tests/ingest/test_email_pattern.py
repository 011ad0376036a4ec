"""The email pattern (one definition: ingest redaction, ``eval run pii``, the SDK) on
internationalised addresses, text without spaces around them, and punctuation of other
scripts; and both regex engines that run it (Rust's, in Polars; Python's ``re``, in the
SDK) find the same matches."""

from __future__ import annotations

import random
import re

import polars as pl
import pytest

from pyflare_cli.ingest.redaction import PATTERNS, RedactionConfig, redact
from pyflare_cli.schema import empty_frame

EMAIL = PATTERNS["email"]
CASES = [
    ("write to jane.doe+ai@example.co.uk today", ["jane.doe+ai@example.co.uk"]),
    # RFC 6531 local parts, IDN domains and TLDs
    (
        "josé.garcía@universidad.es y müller@münchen.de",
        ["josé.garcía@universidad.es", "müller@münchen.de"],
    ),
    ("пишите на иван@пример.рф, спасибо", ["иван@пример.рф"]),
    ("λόγος@παράδειγμα.ελ", ["λόγος@παράδειγμα.ελ"]),
    ("संपर्क: राम@उदाहरण.भारत। धन्यवाद", ["राम@उदाहरण.भारत"]),  # stops at the danda
    ("راسلني على أحمد@مثال.مصر، شكرا", ["أحمد@مثال.مصر"]),  # stops at the Arabic comma
    ("연락처 홍길동@예시.한국 입니다", ["홍길동@예시.한국"]),
    ("联系：用户@例子.中国。谢谢", ["用户@例子.中国"]),  # noqa: RUF001  (full-width colon)
    # CJK text runs into ASCII addresses without spaces: the address alone
    ("请发邮件到user@example.com谢谢", ["user@example.com"]),
    ("電話番号 090-1234-5678、メール taro@example.jp。", ["taro@example.jp"]),
    ("电话 +49 30 1234 5678，邮件 wang@example.cn", ["wang@example.cn"]),  # noqa: RUF001
    ("«anna@beispiel.de»", ["anna@beispiel.de"]),
    # not addresses
    ("v1.2.3 released; 3.14 is pi; hello @user", []),
    ("user@localhost and a@b.c", []),
]


@pytest.mark.parametrize(("text", "found"), CASES)
def test_both_engines_find_the_addresses(text: str, found: list[str]) -> None:
    assert re.findall(EMAIL, text) == found
    assert (pl.Series([text]).str.extract_all(EMAIL).to_list()[0] or []) == found


def test_redaction_masks_an_internationalised_address() -> None:
    frame = pl.concat(
        [
            empty_frame(),
            empty_frame()
            .clear(1)
            .with_columns(
                pl.lit("пишите: иван@пример.рф, или 用户@例子.中国。").alias("input_text")
            ),
        ]
    )
    out = redact(frame, RedactionConfig(modes={"email": "mask"}))
    assert out.get_column("input_text").to_list() == [
        "пишите: [REDACTED:email], или [REDACTED:email]。"
    ]


def test_the_engines_agree_on_generated_text() -> None:
    """Addresses of random pieces of many scripts, glued to random neighbours."""
    rng = random.Random(21)
    pieces = ["ana", "x1", "müller", "иван", "λόγος", "राम", "أحمد", "用户", "例子", "たろう",
              "홍길동", "-", "_", "9"]  # fmt: skip
    tlds = ["com", "рф", "中国", "ελ", "भारत", "c", "co.uk", "مصر"]
    glue = [" ", "", "。", "，", "、", "«", "»", ":", "،", "।", "\u00a0", "\u3000", "@", "."]  # noqa: RUF001
    texts = []
    for _ in range(3000):
        local = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 3)))
        domain = ".".join(rng.choice(pieces) for _ in range(rng.randint(1, 2)))
        address = f"{local}@{domain}.{rng.choice(tlds)}"
        texts.append(rng.choice(glue) + rng.choice(pieces) + rng.choice(glue) + address
                     + rng.choice(glue) + rng.choice(pieces))  # fmt: skip
    polars = pl.Series(texts).str.extract_all(EMAIL).to_list()
    python = [re.findall(EMAIL, text) for text in texts]
    assert [p or [] for p in polars] == python
    assert sum(map(bool, python)) > 2000  # most hold an address
