"""``compare_models`` (one frame per model, each freed once compared) reports what comparing
each model's filtered rows did before issue 24: same models, same order, same figures."""

from __future__ import annotations

import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.drift.features import BUILT_IN, parse_feature
from pyflare_cli.analysis.drift.model import DriftSettings
from pyflare_cli.analysis.drift.report import compare, compare_models
from pyflare_cli.query.drift_samples import features_of
from tests.analysis.drift.test_drift_report import spans

FEATURES = [*BUILT_IN, parse_feature("attr.user.tier")]


def _window(seed: int, models: dict[str, int]) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for i, (name, n) in enumerate(models.items()):
        words = ["hello there", "où est ma commande", "refund order 42 please", None]
        frame = spans(
            n,
            seed + i,
            model=[name] * n,
            request_model=[name] * n,
            input_text=[words[k] for k in rng.integers(0, 4, n)],
            embedding=[list(rng.normal(i, 1, 4).astype(np.float32)) for _ in range(n)],
        )
        parts.append(frame)
    mixed = pl.concat(parts).collect().sample(fraction=1.0, shuffle=True, seed=seed)
    return features_of(mixed.lazy(), FEATURES, ()).collect()


def test_each_model_as_before() -> None:
    # m0 only in the reference, m3 only in the current window, rows of all models mixed.
    ref = _window(1, {"m0": 40, "m1": 120, "m2": 80})
    cur = _window(2, {"m1": 90, "m2": 60, "m3": 50})
    settings = DriftSettings(permutations=30, text_sample=70, embedding_sample=50)
    names = sorted(set(ref["model"]) | set(cur["model"]))
    how = (FEATURES, settings)
    expected = [
        compare(n, ref.filter(pl.col("model") == n), cur.filter(pl.col("model") == n), *how)
        for n in names
    ]
    frames = [ref, cur]
    got = compare_models(frames, FEATURES, settings)
    assert frames == []
    assert [r.model for r in got] == names == ["m0", "m1", "m2", "m3"]
    for mine, theirs in zip(got, expected, strict=True):
        assert_frame_equal(mine.features, theirs.features)
        assert (mine.verdict, mine.drifted, mine.tested, mine.n_reference, mine.n_current) == (
            theirs.verdict,
            theirs.drifted,
            theirs.tested,
            theirs.n_reference,
            theirs.n_current,
        )
    # The comparison means something: the windows differ, and some feature is tested.
    assert any(r.tested for r in got)
