"""Latency slices are tested on log milliseconds: calibrated and powerful on heavy tails.

Real latency is heavy-tailed (log-normal sigma 1 to 1.5 and more). Welch's test on
milliseconds then barely fires at all, even on a slice whose every call got 1.3 times
slower: a few huge values set the variance. The slice test (:func:`scoring.score`) reads
the test-scale sums (``z``: log1p of milliseconds, see :data:`passes.TERMS`); each row of
the frames below is one simulated slice, so 400 slices are tested in one call.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pyflare_cli.analysis.rca.scoring import REFERENCE, SliceSettings, Totals, score

SLICES = 400
N_TARGET, N_BASELINE = 200, 2000


def _slices(seed: int, sigma: float, factor: float, log_scale: bool) -> pl.DataFrame:
    """``SLICES`` slices of log-normal milliseconds, the target ``factor`` times slower."""
    rng = np.random.default_rng(seed)
    target = rng.lognormal(np.log(500 * factor), sigma, (SLICES, N_TARGET))
    baseline = rng.lognormal(np.log(500), sigma, (SLICES, N_BASELINE))
    zt, zb = (np.log1p(x) if log_scale else x for x in (target, baseline))
    return pl.DataFrame(
        {
            "nt": np.full(SLICES, float(N_TARGET)),
            "st": target.sum(1),
            "qt": (target**2).sum(1),
            "nb": np.full(SLICES, float(N_BASELINE)),
            "sb": baseline.sum(1),
            "qb": (baseline**2).sum(1),
            "zt": zt.sum(1),
            "zqt": (zt**2).sum(1),
            "zb": zb.sum(1),
            "zqb": (zb**2).sum(1),
        }
    )


def _rejected(groups: pl.DataFrame) -> float:
    totals = Totals(N_TARGET, N_BASELINE, 0.0, 0.0, 0.0)  # every slice has its baseline
    reference = np.zeros((groups.height, len(REFERENCE)))
    scored = score(groups, reference, totals, SliceSettings(binary=False))
    assert not scored.get_column("new").any()
    return float((scored.get_column("p_value").to_numpy() < 0.05).mean())


def test_heavy_tailed_latency_holds_its_level() -> None:
    for sigma in (0.5, 1.5):
        rate = _rejected(_slices(1, sigma, 1.0, log_scale=True))
        assert 0.02 <= rate <= 0.08, (sigma, rate)


def test_a_slower_bulk_is_found_on_heavy_tails() -> None:
    on_log = _rejected(_slices(2, 1.5, 1.3, log_scale=True))
    on_ms = _rejected(_slices(2, 1.5, 1.3, log_scale=False))
    assert on_log >= 0.65, on_log
    assert on_ms <= 0.45, on_ms  # why the test reads log milliseconds
