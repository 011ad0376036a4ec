"""How a share (a part of a whole) reads in text, in one place for all that print one.

rca writes its evidence as sentences in the analysis ("1x in the window (5.6% of its
errors)"), while the rca command's tables and the report's tables format the same shares
in the layers above; each had its own rounding, so one template read 6% in a cause and
5.6% in the table beside it. They all call :func:`share`.
"""

from __future__ import annotations


def share(value: float | None) -> str:
    """``5.6%`` under a tenth (one decimal, so a small share keeps its figure), ``39%``
    from a tenth up; ``-`` for none or NaN."""
    if value is None or value != value:
        return "-"
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"
