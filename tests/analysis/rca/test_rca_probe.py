"""rca's dimensions are judged on the whole windows' attribute keys, not on their first rows.

The sample that judges attribute values was the first 10,000 rows of each window, in time
order: a key that a deploy started to set later in the window was never a dimension, and a
key set only on the first rows looked common.
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.rca.model import RcaSettings
from pyflare_cli.analysis.rca.probe import PROBE
from pyflare_cli.analysis.rca.report import analyse
from tests.analysis.rca.rca_world import pair


def _with_key(frame: pl.DataFrame, key: str, rows: pl.Expr) -> pl.DataFrame:
    """``frame`` with ``key`` (values 0, 1, 2) set in the attributes of ``rows``."""
    index = pl.int_range(pl.len())
    entry = pl.concat_list(
        pl.struct(pl.lit(key).alias("key"), (index % 3).cast(pl.String).alias("value"))
    )
    entries = pl.col("attributes").map.entries()
    added = pl.when(rows).then(entries.list.concat(entry)).otherwise(entries)
    return frame.with_columns(added.cast(frame.schema["attributes"]).alias("attributes"))


def _windows() -> tuple[pl.DataFrame, pl.DataFrame]:
    target, baseline = pair(11, 2600)  # 13,000 spans a window, in time order
    assert target.height > PROBE + 2_000
    index = pl.int_range(pl.len())
    late, early = index >= PROBE + 500, index < 550  # 19% and 4% of each window
    return tuple(  # type: ignore[return-value]
        _with_key(_with_key(w, "app.shard", late), "app.warmup", early) for w in (target, baseline)
    )


def test_a_key_set_after_the_first_rows_is_a_dimension() -> None:
    target, baseline = _windows()
    report = analyse(target, baseline, RcaSettings())
    assert "attr.app.shard" in report.dimensions


def test_a_key_set_only_on_the_first_rows_is_not() -> None:
    """In the first rows (5.5%), rare in the windows (4%): under the 5% a dimension needs."""
    target, baseline = _windows()
    report = analyse(target, baseline, RcaSettings())
    assert "attr.app.warmup" not in report.dimensions
    assert "attr.app.tier" in report.dimensions  # unchanged
    assert "resource.cloud.region" in report.dimensions


def test_both_windows_one_scan_filtered_two_ways() -> None:
    """--vs-rest: the target and the baseline are one scan filtered both ways."""
    target, baseline = _windows()
    window = pl.concat([target, baseline]).lazy()
    chosen = pl.col("model") == "gpt-4o-mini"
    rest = window.filter(~chosen | chosen.is_null())
    report = analyse(window.filter(chosen), rest, RcaSettings(vs_rest=True))
    assert "attr.app.shard" in report.dimensions
