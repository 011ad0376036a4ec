"""One-line charts for a terminal: ``▁▂▄█▆▃``."""

from __future__ import annotations

from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | int | None]) -> str:
    """Each value as one bar scaled to the largest; missing values as spaces."""
    present = [v for v in values if v is not None]
    if not present:
        return ""
    top = max(present)
    if top <= 0:
        return "".join(BARS[0] if v is not None else " " for v in values)
    return "".join(
        " " if v is None else BARS[min(len(BARS) - 1, int(v / top * (len(BARS) - 1) + 0.5))]
        for v in values
    )
