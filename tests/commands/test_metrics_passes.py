"""``pyflare metrics`` reads the store in two passes: the frames equal the one-pass-each
way they replaced, the latency sum is exact, and reading alert states loads no NumPy."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.stats.metrics import latency_histogram, llm_calls, per_trace
from pyflare_cli.query.metrics import snapshot
from pyflare_cli.query.spans import SpanQuery, load_spans

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_two_passes_equal_a_pass_per_frame(demo_store: Path) -> None:
    found = snapshot(demo_store, SpanQuery(), NOW, (), (), top_users=5)
    spans = load_spans(demo_store, SpanQuery(), NOW, ())
    assert_frame_equal(found.calls, llm_calls(spans).collect(), check_exact=True)
    latency = latency_histogram(spans).collect()
    assert_frame_equal(found.latency, latency, check_exact=True)
    assert found.spans == spans.select(pl.len()).collect().item() > 4000
    assert found.traces.get_column("traces").sum() == per_trace(spans).collect().height
    # The integer nanoseconds summed (the same whatever order the rows come in), then
    # scaled to seconds once.
    expected = (
        spans.filter(pl.col("model").is_not_null() & pl.col("duration_ns").is_not_null())
        .group_by(pl.col("model"))
        .agg(pl.col("duration_ns").sum())
        .collect()
    )
    sums = dict(zip(*latency.select("model", "sum_seconds").to_dict().values(), strict=True))
    for model, total_ns in expected.iter_rows():
        assert math.isclose(sums[model], total_ns / 1e9, rel_tol=1e-15, abs_tol=0)


def test_reading_alert_states_imports_no_numpy(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pyflare_cli.alerting.state.alerts import AlertStore\n"
        f"AlertStore(__import__('pathlib').Path({str(tmp_path)!r})).load()\n"
        "assert 'numpy' not in sys.modules, 'numpy imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
