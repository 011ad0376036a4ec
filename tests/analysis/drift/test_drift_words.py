"""The out-of-vocabulary descriptor's word split equals its definition (issue 24).

``features._words`` finds the WORD tokens without testing WORD on each token (it blanks
the tokens holding a digit, ``_`` or ``-`` and takes the runs of letters and apostrophes
left). The reference is the definition: every TOKEN of the lower-cased text that matches
WORD, each once per text. Checked on random strings over an alphabet of what the rules
tell apart: letters of several scripts, cased Greek and Turkish letters that lower-case
in context, combining marks, ASCII and other digits, ``_``, ``-``, apostrophes, spaces,
punctuation, emoji.
"""

from __future__ import annotations

import random

import polars as pl
import pytest

from pyflare_cli.analysis.drift import features
from pyflare_cli.analysis.drift.features import TOKEN, WORD, _words

ALPHABET = [
    *"abcXYZ\u00e9\u00df\u00c6",  # Latin, with sharp s and a ligature
    *"\u03a3\u03c3\u03c2\u0130\u0131",  # Greek sigmas (final sigma in context), Turkish i's
    *"\u0414\u0436\u3042\u4e2d",  # Cyrillic, kana, a CJK ideograph
    "\u0301",  # a combining accent
    "\u0307",  # a combining dot
    *"09\u0663\u00b2",  # digits: ASCII, Arabic-Indic, superscript two
    *"_-'\u2019 .,;:!?\n\t",  # the token joiners, a curly apostrophe, separators
    "\U0001f642",  # an emoji
    "--",
    "''",
]


def _definition(texts: pl.Series) -> set[tuple[int, str]]:
    tokens = texts.str.to_lowercase().str.extract_all(TOKEN).to_list()
    pairs = set()
    for row, found in enumerate(tokens):
        for token in found or []:
            if pl.Series([token]).str.contains(WORD).item():
                pairs.add((row, token))
    return pairs


@pytest.mark.parametrize("seed", range(4))
def test_words_equal_their_definition(seed: int) -> None:
    rng = random.Random(seed)
    texts = ["".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 60))) for _ in range(400)]
    texts += ["don't stop", "'quoted' words", "a-b c_d e1 f' 'g h''i", "ΟΔΟΣ ΟΔΟΣ.", "İstanbul", ""]
    series = pl.Series("text", [*texts, None])
    got = _words(series).collect()
    assert got.columns == ["row", "word"]
    pairs = set(got.iter_rows())
    assert len(pairs) == got.height  # each word once per text
    assert pairs == _definition(series)
    fixed = len(texts) - 6  # the first hand-written text's row
    assert {(fixed, "don't"), (fixed, "stop"), (fixed + 2, "f'"), (fixed + 2, "h''i")} <= pairs
    assert not {(fixed + 2, w) for w in ("a", "b", "a-b", "c_d", "e1", "'g", "g")} & pairs


@pytest.mark.parametrize("slice_texts", [1, 7, 500])
def test_split_words_in_parallel_slices_is_one_query(
    monkeypatch: pytest.MonkeyPatch, slice_texts: int
) -> None:
    rng = random.Random(slice_texts)
    texts = ["".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 40))) for _ in range(90)]
    empty = pl.Series("t", [], pl.String)
    windows = [pl.Series("t", [*texts, None]), pl.Series("t", texts[:13]), empty]
    monkeypatch.setattr(features, "SLICE_TEXTS", slice_texts)
    got = features.split_words(*windows)
    for frame, texts_of_window in zip(got, windows, strict=True):
        assert frame.equals(_words(texts_of_window).collect())  # same rows, same order
    assert got[2].height == 0 and got[2].columns == ["row", "word"]
