"""The trace list's columns fit the table's width, by priority."""

from __future__ import annotations

import pytest

from pyflare_cli.tui.widgets.trace_table import PRIORITY, fit_columns


@pytest.mark.parametrize("sorted_by", ["start", "duration", "tokens", "trace"])
def test_columns_fit_every_width_and_keep_the_trace_id(sorted_by: str) -> None:
    for width in range(40, 260):
        widths = fit_columns(width, sorted_by)
        assert "trace" in widths and widths["trace"] == 12
        drawn = 3 + sum(w + 2 for w in widths.values())  # the mark column, cell padding
        assert drawn <= width or width < 50, (width, widths)
        # Columns go by priority: a column shows only if every more important one does.
        shown = [key in widths for key in PRIORITY]
        assert shown == sorted(shown, reverse=True), (width, widths)
        if sorted_by in widths:
            assert widths[sorted_by] >= len(sorted_by) + 2


def test_wide_tables_show_everything_and_widen_root_and_models() -> None:
    assert set(fit_columns(128)) == set(PRIORITY)  # 160 columns with facets
    wide = fit_columns(250)
    assert wide["root"] > 38 and wide["models"] >= 30
    assert fit_columns(100)["root"] >= 18
