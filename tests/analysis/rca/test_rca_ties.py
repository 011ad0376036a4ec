"""The slice search gives one answer for one input, whatever order its rows come in.

Slices of exactly the same rows (``a = v0`` and its copy ``b = v0``; on real data a region
and the cloud it runs in) tie on excess and p-value. When more of them tie than the beam
holds, the ones crossed further were those a group-by happened to return first: the set
of tested slices, and with it every q-value, changed from run to run (seen on the 1M demo
store, issue 23). Ties are now broken by the slice's name.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.rca.slices import SliceSettings, find_slices

SETTINGS = SliceSettings(binary=True, min_size=20, max_order=2, beam=3, alpha=0.05)


def _rows() -> pl.DataFrame:
    parts = []
    for target in (True, False):
        for i in range(6):
            for c, rate in (("x", 0.2), ("y", 0.1)):
                n = 100
                bad = int(n * (rate if target and i < 4 else 0.05))
                parts.append(
                    pl.DataFrame(
                        {
                            "target": [target] * n,
                            "y": [1.0] * bad + [0.0] * (n - bad),
                            "a": [f"v{i}"] * n,
                            "c": [c] * n,
                        }
                    )
                )
    rows = pl.concat(parts).with_columns(pl.col("a").alias("b"))
    return rows.with_columns(pl.int_range(pl.len()).cast(pl.String).alias("span_id"))


def test_the_same_rows_in_any_order_give_the_same_slices() -> None:
    rows = _rows()
    answers = []
    for seed in range(8):
        order = np.random.default_rng(seed).permutation(rows.height)
        search = find_slices(rows[order].lazy(), ["a", "b", "c"], SETTINGS)
        answers.append(search.slices.drop("members", strict=False))
    assert answers[0].filter(pl.col("order") == 2).height > 0  # crossings were tested
    for other in answers[1:]:
        assert_frame_equal(other, answers[0])


def test_all_of_it_in_lists_the_values_of_a_dimension_in_order() -> None:
    """With ``--unit trace`` a slice's traces can all hold several values of one dimension
    (every trace passes through eight services): "all of it in" lists them sorted, not in
    the order a group-by returned them (which changed from run to run)."""
    from pyflare_cli.analysis.rca.report import _within

    services = [f"svc-{c}" for c in "hdagfbec"]
    rows = pl.DataFrame(
        {
            "target": [True] * 320,
            "trace_id": [f"t{i // 8}" for i in range(320)],
            "span_id": [str(i) for i in range(320)],
            "y": [1.0] * 320,
            "service": services * 40,
            "region": ["eu"] * 160 + ["us"] * 160,
        }
    )
    lead = pl.DataFrame(
        {"slice": ["region = eu"], "conditions": [["region = eu"]], "n_target": [20]}
    )
    found = _within(rows.lazy(), lead, ["service", "region"], True)
    assert found == {"region = eu": [f"service = {s}" for s in sorted(services)]}


def test_slices_of_the_same_rows_tie_whatever_order_their_sums_were_added_in() -> None:
    """Latency: slices of the same rows (``a`` and its copy ``b``) have sums that differ in
    their last bits when the rows are added in another order; the beam and the explanation
    compared them raw, so which one was crossed further followed the row order."""
    rows = _rows()
    noise = np.random.default_rng(3).lognormal(3.0, 0.5, rows.height)
    rows = rows.with_columns((pl.col("y") * 400.0 + pl.Series(noise)).alias("y"))
    settings = SliceSettings(binary=False, min_size=20, max_order=2, beam=3, alpha=0.05)
    answers = []
    for seed in range(8):
        order = np.random.default_rng(seed).permutation(rows.height)
        search = find_slices(rows[order].lazy(), ["a", "b", "c"], settings)
        answers.append(search.slices.select("slice", "significant", "shown", "within"))
    assert answers[0].filter(pl.col("shown")).height > 0
    for other in answers[1:]:
        assert_frame_equal(other, answers[0])
