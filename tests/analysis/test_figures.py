"""A share reads the same wherever it is printed: one decimal under a tenth, none above."""

from __future__ import annotations

import pytest

from pyflare_cli.analysis.figures import share


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1 / 18, "5.6%"),
        (0.0, "0.0%"),
        (0.1, "10%"),
        (7 / 18, "39%"),
        (1.0, "100%"),
        (None, "-"),
        (float("nan"), "-"),
    ],
)
def test_share(value: float | None, shown: str) -> None:
    assert share(value) == shown
