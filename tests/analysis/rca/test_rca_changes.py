"""Change attribution (`pyflare rca`): new versions and models that arrived with the problem.

Frames have the shape of :func:`rca_dimensions.dimension_frame`: ``target``, ``trace_id``,
``span_id``, ``start_time``, ``y`` and string dimensions; ``version`` carries its service
("rag 2.0"), as the built-in dimension does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import stats

from pyflare_cli.analysis.rca.changes import CHANGE_SCHEMA, change_dimensions, new_values

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
    changes = new_values(rollout, DIMS, binary=True)
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
    change = new_values(rollout, DIMS, binary=True).row(0, named=True)
    new = rollout.filter(pl.col("target") & (pl.col("version") == "rag 2.0"))["y"]
    peers = rollout.filter(~pl.col("target") & (pl.col("service") == "rag"))["y"]
    assert change["expected"] == pytest.approx(peers.mean(), rel=1e-12)
    assert change["excess"] == pytest.approx(new.sum() - new.len() * peers.mean(), rel=1e-9)
    table = [
        [new.sum(), new.len() - new.sum()],
        [peers.sum(), peers.len() - peers.sum()],
    ]
    p = stats.chi2_contingency(table, correction=False).pvalue
    assert change["p_value"] == pytest.approx(p, rel=1e-6)
    assert change["p_value"] < 1e-10


def test_share_of_excess(rollout: pl.DataFrame) -> None:
    change = new_values(rollout, DIMS, binary=True).row(0, named=True)
    assert 0 < change["share_of_excess"] <= 1
    assert change["share_of_excess"] == pytest.approx(
        hand_share(rollout, "version", "rag 2.0"), rel=1e-9
    )
    assert change["share_of_excess"] > 0.8  # the version carries (nearly) all new errors


def test_metric_rose_after_the_rollout(rollout: pl.DataFrame) -> None:
    change = new_values(rollout, DIMS, binary=True).row(0, named=True)
    after = rollout.filter(pl.col("start_time") >= change["first_seen"])["y"].mean()
    before = rollout.filter(pl.col("start_time") < change["first_seen"])["y"].mean()
    assert change["metric_after"] == pytest.approx(after, rel=1e-12)
    assert change["metric_before"] == pytest.approx(before, rel=1e-12)
    assert change["metric_after"] > 2 * change["metric_before"]


def test_examples_are_failing_traces_of_the_new_version(rollout: pl.DataFrame) -> None:
    change = new_values(rollout, DIMS, binary=True).row(0, named=True)
    failing = rollout.filter(
        pl.col("target") & (pl.col("version") == "rag 2.0") & (pl.col("y") == 1.0)
    )["trace_id"].to_list()
    assert len(change["examples"]) == 3
    assert len(set(change["examples"])) == 3
    assert set(change["examples"]) <= set(failing)


def test_old_values_present_in_both_windows_are_not_new(rollout: pl.DataFrame) -> None:
    changes = new_values(rollout, DIMS, binary=True)
    values = changes["value"].to_list()
    assert "rag 1.0" not in values and "api 3.1" not in values
    assert "mini" not in values and "large" not in values
    # Dimensions that are not change dimensions are never reported.
    assert set(changes["dimension"]) <= {"version", "model"}


def test_a_value_with_a_few_canary_spans_in_the_baseline_is_still_new() -> None:
    # 10 canary spans are 0.3% of the baseline: under the 1% that makes a value old.
    changes = new_values(spans(canary=10), DIMS, binary=True)
    assert changes["value"].to_list() == ["rag 2.0"]
    # 60 (2%) is an established value.
    assert new_values(spans(canary=60), DIMS, binary=True).height == 0


def test_a_new_model_is_a_change() -> None:
    frame = spans(roll_out=False, extras=(("model", "mini-2", 200, 0.3),))
    changes = new_values(frame, DIMS, binary=True)
    assert changes["dimension"].to_list() == ["model"]
    change = changes.row(0, named=True)
    assert change["value"] == "mini-2"
    assert change["n_target"] == 200
    new = frame.filter(pl.col("model") == "mini-2")
    assert change["first_seen"] == new["start_time"].min()
    base_mean = frame.filter(~pl.col("target"))["y"].mean()
    assert change["expected"] == pytest.approx(base_mean, rel=1e-12)  # no peers for a model
    assert change["share_of_excess"] == pytest.approx(
        hand_share(frame, "model", "mini-2"), rel=1e-9
    )
    assert change["p_value"] < 1e-6


def test_new_values_below_min_size_are_ignored() -> None:
    frame = spans(extras=(("version", "auth 0.1", 20, 0.5),))
    assert "auth 0.1" not in new_values(frame, DIMS, binary=True)["value"].to_list()
    smaller = new_values(frame, DIMS, binary=True, min_size=10)
    assert "auth 0.1" in smaller["value"].to_list()
    assert smaller.row(0, named=True)["value"] == "rag 2.0"  # sorted by excess


def test_a_new_version_that_is_no_worse_is_reported_without_share() -> None:
    frame = spans(new_version_rate=0.0)
    change = new_values(frame, DIMS, binary=True).row(0, named=True)
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
    change = new_values(frame, DIMS, binary=False).row(0, named=True)
    new = frame.filter(pl.col("target") & (pl.col("version") == "rag 2.0"))["y"].to_numpy()
    peers = frame.filter(~pl.col("target") & (pl.col("service") == "rag"))["y"].to_numpy()
    assert change["metric"] == pytest.approx(new.mean(), rel=1e-12)
    assert change["expected"] == pytest.approx(peers.mean(), rel=1e-12)
    welch = stats.ttest_ind(new, peers, equal_var=False)
    assert change["p_value"] == pytest.approx(welch.pvalue, rel=1e-6, abs=1e-300)


def test_no_change_dimensions_or_no_new_values_give_an_empty_table(
    rollout: pl.DataFrame,
) -> None:
    empty = pl.DataFrame(schema=CHANGE_SCHEMA)
    assert_frame_equal(new_values(rollout, ["service", "region"], binary=True), empty)
    same = rollout.filter(pl.col("version") != "rag 2.0")
    assert_frame_equal(new_values(same, DIMS, binary=True), empty)


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
