"""Change attribution (`pyflare rca`): new versions and models that arrived with the problem.

Frames have the shape of the unit frame (:mod:`rca.units`): ``target``, ``trace_id``,
``span_id``, ``start_time``, ``y`` and string dimensions; ``version`` carries its service
("rag 2.0"), as the built-in dimension does. "New" is judged by the slice search (a value
rare in the baseline relative to its own share of the target); :func:`new_values` reads
its verdict and looks the first sighting up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import stats

from pyflare_cli.analysis.rca.changes import CHANGE_SCHEMA, change_dimensions, new_values
from pyflare_cli.analysis.rca.dimensions import Dimension
from pyflare_cli.analysis.rca.slices import SliceSettings, find_slices

BASELINE_START = datetime(2025, 3, 1, 13, 0, tzinfo=UTC)
TARGET_START = datetime(2025, 3, 1, 14, 0, tzinfo=UTC)
ROLLOUT = TARGET_START + timedelta(minutes=5)
DIMS = ["service", "version", "model", "region"]


def spans(
    seed: int = 0,
    n: int = 3000,
    new_version_rate: float = 0.2,
    base_rate: float = 0.02,
    canary: int = 0,
    roll_out: bool = True,
    extras: tuple[tuple[str, str, int, float], ...] = (),
) -> pl.DataFrame:
    """Two one-hour windows of rag and api spans, one per second.

    rag moves from 1.0 to 2.0 at 14:05 in the target (errors ``new_version_rate``) unless not
    ``roll_out``; ``canary``
    baseline rag spans already run 2.0. ``extras``: (dimension, value, target spans, error
    rate) blocks appended at the end of the target, with the other dimensions as usual.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for target, start in ((False, BASELINE_START), (True, TARGET_START)):
        times = [start + timedelta(seconds=3600 * i / n) for i in range(n)]
        service = rng.choice(["rag", "api"], n)
        after = np.array([t >= ROLLOUT for t in times]) & target & roll_out
        rag_version = np.where(after, "rag 2.0", "rag 1.0")
        if not target and canary:
            rag_version[np.flatnonzero(service == "rag")[:canary]] = "rag 2.0"
        version = np.where(service == "rag", rag_version, "api 3.1")
        rate = np.where(version == "rag 2.0", new_version_rate, base_rate) if target else base_rate
        prefix = "t" if target else "b"
        frames.append(
            pl.DataFrame(
                {
                    "target": np.full(n, target),
                    "trace_id": [f"{prefix}-trace-{i:05d}" for i in range(n)],
                    "span_id": [f"{prefix}-span-{i:05d}" for i in range(n)],
                    "start_time": times,
                    "y": (rng.random(n) < rate).astype(np.float64),
                    "service": service,
                    "version": version,
                    "model": rng.choice(["mini", "large"], n),
                    "region": rng.choice(["eu", "us"], n),
                },
                schema_overrides={"start_time": pl.Datetime("ns", "UTC")},
            )
        )
    for k, (dimension, value, count, rate) in enumerate(extras):
        block = (
            frames[1]
            .tail(count)
            .with_columns(
                pl.lit(value).alias(dimension),
                pl.Series("y", (rng.random(count) < rate).astype(np.float64)),
                (pl.lit(f"x{k}-") + pl.col("trace_id")).alias("trace_id"),
                (pl.lit(f"x{k}-") + pl.col("span_id")).alias("span_id"),
            )
        )
        frames.append(block)
    return pl.concat(frames)


def changes_of(
    frame: pl.DataFrame,
    dims: list[str],
    binary: bool = True,
    min_size: int = 30,
    history: pl.DataFrame | None = None,
) -> pl.DataFrame:
    search = find_slices(frame, dims, SliceSettings(binary=binary, min_size=min_size))
    dimensions = [Dimension(d, pl.col(d)) for d in dims]
    return new_values(
        search.slices, frame.lazy(), dimensions, history.lazy() if history is not None else None
    )


def hand_share(frame: pl.DataFrame, dimension: str, value: str, min_size: int = 30) -> float:
    """Share of the rise of ``dimension`` carried by ``value``, in plain Python."""
    base = [y for t, y in zip(frame["target"], frame["y"], strict=True) if not t]
    base_mean = sum(base) / len(base)
    rose = 0.0
    rise = 0.0
    for v in frame[dimension].unique().to_list():
        mine = frame.filter(pl.col(dimension) == v)
        t = mine.filter(pl.col("target"))["y"].to_list()
        b = mine.filter(~pl.col("target"))["y"].to_list()
        expected = sum(b) / len(b) if len(b) >= min_size else base_mean
        rose += max(sum(t) - len(t) * expected, 0.0)
        if v == value:
            rise = sum(t) - len(t) * base_mean
    return min(1.0, rise / rose)


@pytest.fixture(scope="module")
def rollout() -> pl.DataFrame:
    return spans()


def test_new_version_is_found_with_its_rollout_time(rollout: pl.DataFrame) -> None:
    changes = changes_of(rollout, DIMS, binary=True)
    assert changes.schema == pl.Schema(CHANGE_SCHEMA)
    assert changes.height == 1
    change = changes.row(0, named=True)
    assert (change["dimension"], change["value"]) == ("version", "rag 2.0")
    new = rollout.filter(pl.col("target") & (pl.col("version") == "rag 2.0"))
    assert change["first_seen"] == new["start_time"].min()
    assert ROLLOUT <= change["first_seen"] < ROLLOUT + timedelta(seconds=10)
    assert change["n_target"] == new.height
    assert change["metric"] == pytest.approx(new["y"].mean(), rel=1e-12)


def test_new_version_is_compared_with_its_own_service(rollout: pl.DataFrame) -> None:
    change = changes_of(rollout, DIMS, binary=True).row(0, named=True)
    new = rollout.filter(pl.col("target") & (pl.col("version") == "rag 2.0"))["y"]
    peers = rollout.filter(~pl.col("target") & (pl.col("service") == "rag"))["y"]
    assert change["expected"] == pytest.approx(peers.mean(), rel=1e-12)
    assert change["excess"] == pytest.approx(new.sum() - new.len() * peers.mean(), rel=1e-9)
    k1, n1, k2, n2 = int(new.sum()), new.len(), int(peers.sum()), peers.len()
    law = stats.hypergeom(n1 + n2, k1 + k2, n1)
    p = law.sf(k1) + 0.5 * law.pmf(k1)  # Fisher's one-sided mid-p
    assert change["p_value"] == pytest.approx(p, rel=1e-6)
    assert change["p_value"] < 1e-10


def test_share_of_excess(rollout: pl.DataFrame) -> None:
    change = changes_of(rollout, DIMS, binary=True).row(0, named=True)
    assert 0.8 < change["share_of_excess"] <= 1  # the version carries (nearly) all new errors


def test_first_sighting_is_looked_up_before_the_window(rollout: pl.DataFrame) -> None:
    assert changes_of(rollout, DIMS).row(0, named=True)["seen_before"] is None
    early = datetime(2025, 2, 20, 9, tzinfo=UTC)
    history = pl.DataFrame(
        {"start_time": [early], "version": ["rag 2.0"]},
        schema_overrides={"start_time": pl.Datetime("ns", "UTC")},
    )
    change = changes_of(rollout, DIMS, history=history).row(0, named=True)
    assert change["seen_before"] == early


def test_examples_are_failing_traces_of_the_new_version(rollout: pl.DataFrame) -> None:
    change = changes_of(rollout, DIMS, binary=True).row(0, named=True)
    failing = rollout.filter(
        pl.col("target") & (pl.col("version") == "rag 2.0") & (pl.col("y") == 1.0)
    )["trace_id"].to_list()
    assert len(change["examples"]) == 3
    assert len(set(change["examples"])) == 3
    assert set(change["examples"]) <= set(failing)


def test_old_values_present_in_both_windows_are_not_new(rollout: pl.DataFrame) -> None:
    changes = changes_of(rollout, DIMS, binary=True)
    values = changes["value"].to_list()
    assert "rag 1.0" not in values and "api 3.1" not in values
    assert "mini" not in values and "large" not in values
    # Dimensions that are not change dimensions are never reported.
    assert set(changes["dimension"]) <= {"version", "model"}


def test_a_value_with_a_few_canary_spans_in_the_baseline_is_still_new() -> None:
    # 60 canary spans are rare against the ~1,400 the version has in the target.
    changes = changes_of(spans(canary=60), DIMS, binary=True)
    assert changes["value"].to_list() == ["rag 2.0"]
    # 1,000 (two thirds of its target share) is an established value.
    assert changes_of(spans(canary=1000), DIMS, binary=True).height == 0


def test_a_small_value_present_in_both_windows_is_not_new() -> None:
    # 90 baseline spans and 84 target spans: small, but as common as before.
    frame = spans(roll_out=False)
    rows = frame.with_row_index("i").with_columns(
        pl.when(pl.col("i") % 1500 < pl.when(pl.col("target")).then(42).otherwise(45))
        .then(pl.lit("large-2"))
        .otherwise(pl.col("model"))
        .alias("model")
    )
    assert rows.filter(pl.col("model") == "large-2").height == 174
    assert changes_of(rows.drop("i"), DIMS).height == 0


def test_a_new_model_is_a_change() -> None:
    frame = spans(roll_out=False, extras=(("model", "mini-2", 200, 0.3),))
    changes = changes_of(frame, DIMS, binary=True)
    assert changes["dimension"].to_list() == ["model"]
    change = changes.row(0, named=True)
    assert change["value"] == "mini-2"
    assert change["n_target"] == 200
    new = frame.filter(pl.col("model") == "mini-2")
    assert change["first_seen"] == new["start_time"].min()
    base_mean = frame.filter(~pl.col("target"))["y"].mean()
    assert change["expected"] == pytest.approx(base_mean, rel=1e-12)  # no peers for a model
    assert 0.8 < change["share_of_excess"] <= 1
    assert change["p_value"] < 1e-6


def test_new_values_below_min_size_are_ignored() -> None:
    frame = spans(extras=(("version", "auth 0.1", 20, 0.5),))
    assert "auth 0.1" not in changes_of(frame, DIMS, binary=True)["value"].to_list()
    smaller = changes_of(frame, DIMS, binary=True, min_size=10)
    assert "auth 0.1" in smaller["value"].to_list()
    assert smaller.row(0, named=True)["value"] == "rag 2.0"  # sorted by excess


def test_a_new_version_that_is_no_worse_is_reported_without_share() -> None:
    frame = spans(new_version_rate=0.0)
    change = changes_of(frame, DIMS, binary=True).row(0, named=True)
    assert change["value"] == "rag 2.0"
    assert change["metric"] == 0.0
    assert change["excess"] < 0
    assert change["share_of_excess"] is None


def test_numeric_metric_uses_welch() -> None:
    frame = spans(new_version_rate=0.0).with_columns(
        pl.when(pl.col("version") == "rag 2.0")
        .then(250.0 + pl.int_range(pl.len()) % 7)
        .otherwise(100.0 + pl.int_range(pl.len()) % 13)
        .alias("y")
    )
    change = changes_of(frame, DIMS, binary=False).row(0, named=True)
    new = frame.filter(pl.col("target") & (pl.col("version") == "rag 2.0"))["y"].to_numpy()
    peers = frame.filter(~pl.col("target") & (pl.col("service") == "rag"))["y"].to_numpy()
    assert change["metric"] == pytest.approx(new.mean(), rel=1e-12)
    assert change["expected"] == pytest.approx(peers.mean(), rel=1e-12)
    welch = stats.ttest_ind(new, peers, equal_var=False, alternative="greater")
    assert change["p_value"] == pytest.approx(welch.pvalue, rel=1e-6, abs=1e-300)


def test_no_change_dimensions_or_no_new_values_give_an_empty_table(
    rollout: pl.DataFrame,
) -> None:
    empty = pl.DataFrame(schema=CHANGE_SCHEMA)
    assert_frame_equal(changes_of(rollout, ["service", "region"], binary=True), empty)
    same = rollout.filter(pl.col("version") != "rag 2.0")
    assert_frame_equal(changes_of(same, DIMS, binary=True), empty)


def test_change_dimensions() -> None:
    dims = [
        "service",
        "version",
        "operation",
        "model",
        "attr.region",
        "attr.deployment.id",
        "resource.k8s.container.image",
        "resource.service.build",
        "attr.git.commit",
        "provider",
    ]
    assert change_dimensions(dims) == [
        "version",
        "model",
        "attr.deployment.id",
        "resource.k8s.container.image",
        "resource.service.build",
        "attr.git.commit",
    ]
