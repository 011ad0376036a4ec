"""Fill a chdb session with an ``otel_traces`` table (the Collector exporter's DDL) from a
store's Parquet, as the Collector's ClickHouse exporter would have written those spans.

Used by the engine tests and benchmarks/bench_engines.py: the canonical view
(:mod:`pyflare_cli.engine.otel_traces`) then has to find model, tokens, kind and user again
in ``SpanAttributes``/``ResourceAttributes``, the way it must on a real Collector table.
"""

from __future__ import annotations

from pathlib import Path

from pyflare_cli.engine.clickhouse_engine import ChdbRunner
from pyflare_cli.engine.otel_traces import EXPORTER_DDL

INSERT = """INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, TraceState,
  SpanName, SpanKind, ServiceName, ResourceAttributes, ScopeName, ScopeVersion,
  SpanAttributes, Duration, StatusCode, StatusMessage,
  `Events.Timestamp`, `Events.Name`, `Events.Attributes`)
SELECT start_time, trace_id, span_id, coalesce(parent_span_id, ''), '', name,
  -- the exporter writes kinds and statuses as the Collector's traceutil spells them
  concat(upper(substring(kind, 1, 1)), substring(kind, 2)), service_name,
  mapApply((k, v) -> (k, coalesce(v, '')), resource_attributes), coalesce(scope_name, ''), '',
  mapApply((k, v) -> (k, coalesce(v, '')), attributes), toUInt64(duration_ns),
  concat(upper(substring(status_code, 1, 1)), substring(status_code, 2)),
  coalesce(status_message, ''),
  arrayMap(e -> tupleElement(e, 'time'), events),
  arrayMap(e -> tupleElement(e, 'name'), events),
  arrayMap(e -> mapApply((k, v) -> (k, coalesce(v, '')), tupleElement(e, 'attributes')), events)
FROM file('{store}/spans/*/part-*.parquet', Parquet)"""


def fill_otel_traces(store: Path, session: Path) -> int:
    """Create ``otel_traces`` in the chdb session folder and copy the store into it."""
    session.mkdir(parents=True, exist_ok=True)
    runner = ChdbRunner(session)
    try:
        runner.execute(EXPORTER_DDL.format(table="otel_traces"))
        runner.execute(INSERT.format(store=store))
        count = runner.arrow("SELECT count() AS n FROM otel_traces").column("n")[0].as_py()
    finally:
        runner.close()
    return int(count)
