"""``pyflare rca`` on DuckDB, Spark or ClickHouse: which engine, what it refuses, the sides.

The command's engine path, kept out of the thin command module: the engine chosen
(``--engine``, ``$PYFLARE_ENGINE``, ``engine:``, a ``clickhouse://`` store), the options it
cannot run yet refused with one line (exit 2), the two sides built (windows, or the
window split by ``--vs-rest --select``; ``--where``/``--span-filter`` applied to every
relation), the empty-side checks, and the report (:func:`engine.rca_rows.analyse_on`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pyflare_cli.analysis.rca.model import RcaReport, RcaSettings
from pyflare_cli.config.file import Config
from pyflare_cli.errors import UsageError
from pyflare_cli.query.windows import Window


def engine_of(
    option: str | None,
    cfg: Config,
    store: str | None,
    html: Path | None,
    settings: RcaSettings,
) -> str | None:
    """The SQL engine to count on (None: Polars, rca's own path); exit 2 naming the
    option that engine cannot run yet."""
    from pyflare_cli.engine.select import URL_SCHEMES, engine_name

    name = engine_name(option, cfg, store)
    if name == "polars":
        return None
    from pyflare_cli.engine.base import unsupported
    from pyflare_cli.engine.rca_sql import METRICS as ON_SQL
    from pyflare_cli.engine.rca_sql import UNITS as SQL_UNITS

    refused = [
        (f"--metric {settings.metric}", settings.metric not in ON_SQL),
        (f"--unit {settings.unit}", settings.unit not in SQL_UNITS),
        (
            "--html with a ClickHouse --store",
            html is not None and store is not None and store.startswith(URL_SCHEMES),
        ),
    ]
    for what, asked in refused:
        if asked:
            raise unsupported(name, f"rca {what}")
    return name


def report_on(
    name: str,
    cfg: Config,
    store: str | None,
    spark_master: str | None,
    window: Window,
    base: Window,
    settings: RcaSettings,
    filters: tuple[str | None, str | None, str | None, datetime],
) -> tuple[RcaReport, str, str]:
    """The report counted on the SQL engine ``name``, with its sides' labels; ``filters``:
    ``--where`` (whole traces), ``--span-filter``, ``--select`` and the now they read."""
    from pyflare_cli.engine.base import SqlEngine
    from pyflare_cli.engine.rca import Part, Side
    from pyflare_cli.engine.rca import Window as Bounds
    from pyflare_cli.engine.rca_rows import analyse_on, window_counts
    from pyflare_cli.engine.rca_where import Filtered, compiled
    from pyflare_cli.engine.select import engine_session

    target_label = f"{window.start:%m-%d %H:%M}..{window.end:%m-%d %H:%M}"
    baseline_label = f"{base.start:%m-%d %H:%M}..{base.end:%m-%d %H:%M}"
    where, span_filter, select, at = filters
    t: Side = (window.start, window.end)
    b: Side = (base.start, base.end)
    history: Bounds | None = (None, window.start)
    with engine_session(name, cfg, store, spark_master) as eng:
        if not isinstance(eng, SqlEngine):  # engine_name said a SQL engine
            raise TypeError(f"--engine {name}: not a SQL engine")
        if where or span_filter:
            eng = Filtered(eng, where, span_filter, at)
        chosen = compiled(eng, "--select", select, at)
        if chosen is not None:  # --vs-rest: the window's --select spans against the rest
            whole = (window.start, window.end)
            t = Part(whole, chosen.predicate, chosen.columns, True)
            b = Part(whole, chosen.predicate, chosen.columns, False)
            history = None
            target_label, baseline_label = f"--select {select!r}", "the rest of the window"
        n_target, n_baseline = window_counts(eng, [t, b])
        if n_target == 0:
            raise UsageError(f"no spans in the target ({target_label})")
        if n_baseline == 0:
            raise UsageError(f"no spans in the baseline ({baseline_label})")
        report = analyse_on(eng, t, b, history, settings)
    if report.totals.n_target == 0:
        raise UsageError(f"--metric {settings.metric}: no span of the target has a value for it")
    return report, target_label, baseline_label
