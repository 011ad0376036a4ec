"""``pyflare stats`` walks tool and agent ancestry, and reads the trace-wide user and session,
over the window unpriced and unfiltered: the rows equal those read from the priced,
``--where``-filtered spans it replaced."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.stats.units import needs_ancestry, reads_within, unit_rows
from pyflare_cli.query.spans import SpanQuery, load_spans
from pyflare_cli.query.stats import StatsRequest, _rows

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("unit", "by", "where"),
    [
        ("call", ["tool"], None),
        ("call", ["agent"], "model:gpt-4o*"),
        ("llm", ["tool"], None),
        ("llm", ["agent", "model"], "status:error"),
        ("span", ["tool"], "cost:>0.0001"),
        ("llm", ["model"], None),
        ("llm", ["model", "user"], "service:agent-runtime"),
        ("llm", ["session"], "cost:>0.001"),
    ],
)
def test_rows_equal_the_walk_over_the_priced_filtered_spans(
    demo_store: Path, unit: str, by: list[str], where: str | None
) -> None:
    assert reads_within(unit, by)
    query = SpanQuery("10d", None, where)
    request = StatsRequest(tuple(by), unit, "10d", where=where)
    found = _rows(demo_store, request, query, NOW, ()).collect()
    expected = unit_rows(load_spans(demo_store, query, NOW, ()), unit, by).collect()
    assert found.height > 0
    assert_frame_equal(found, expected, check_exact=True)


def test_trace_unit_and_plain_groups_do_not_walk() -> None:
    assert not needs_ancestry("trace", ["tool"])
    assert not needs_ancestry("llm", ["model"])
    assert needs_ancestry("call", ["model"])
    assert not reads_within("span", ["model"]) and reads_within("llm", ["model"])
