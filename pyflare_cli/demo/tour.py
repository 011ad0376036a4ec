"""After ``pyflare demo``: replace earlier demo data, and print a tour of what to try.

The tour names real trace ids from the store and the incidents of :mod:`scenario`, so a
newcomer's first commands find something.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.traces.summary import sort_traces, summarize_traces
from pyflare_cli.demo.generator import TOUR_TRACE_ID
from pyflare_cli.ingest.pipeline import Ingestor
from pyflare_cli.ingest.report import IngestReport
from pyflare_cli.store.catalog import Catalog
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.lock import store_lock
from pyflare_cli.store.scan import scan_spans

DEMO_SOURCE = "pyflare-demo.pb"
DEMO_LABEL = "pyflare demo"


def replace_demo(root: Path, path: Path) -> tuple[IngestReport, int]:
    """Remove the spans of any earlier demo run, then ingest ``path`` as the demo source.

    Returns the report and the number of earlier demo files that were kept because
    compaction merged them with spans of other sources (deleting them would lose those).
    """
    layout = StoreLayout(root)
    kept = 0
    with store_lock(root):
        catalog = Catalog(layout.catalog)
        try:
            others = {
                name
                for record in catalog.sources()
                if record.path != DEMO_LABEL
                for name in record.files
            }
            for record in catalog.find_by_path(DEMO_LABEL):
                for name in record.files:
                    if name in others:
                        kept += 1
                    else:
                        (root / name).unlink(missing_ok=True)
                catalog.forget(record.sha256)
        finally:
            catalog.close()
    ingestor = Ingestor(root)
    try:
        return ingestor.ingest([str(path)], label=DEMO_LABEL), kept
    finally:
        ingestor.close()


def tour(root: Path, end: datetime, store_option: str | None = None) -> str:
    """The "what next" text, with a failing trace of the last day to open.

    That is the demo's fixed :data:`TOUR_TRACE_ID` (the one the README names) when the
    window holds it, else the slowest failing trace of the last day.
    """
    flag = f" --store {store_option}" if store_option else ""
    recent = scan_spans(root, end - timedelta(days=1))
    failing = summarize_traces(recent).filter(pl.col("errors") > 0)
    tour_id = TOUR_TRACE_ID.hex()
    planted = failing.filter(pl.col("trace_id") == tour_id).select(pl.len()).collect().item()
    slow = sort_traces(failing, "duration", 1).collect().get_column("trace_id").to_list()
    example = tour_id[:8] if planted else slow[0][:12] if slow else "<trace id>"
    return "\n".join(
        [
            "",
            "Hidden in the data (the last day): rag-api 2.0.0 went live in eu-west-1, its",
            "retriever got slower and gpt-4o-mini calls there fail far more often; prompts",
            "to claude-sonnet-4 grew; user-0042's spend spiked.",
            "",
            "Try next:",
            f"  pyflare traces{flag} --sort duration --since 24h",
            f"  pyflare traces{flag} --where 'status:error resource.cloud.region:eu-west-1'",
            f"  pyflare trace show {example}{flag}",
            f"  pyflare traces{flag} --where 'user:user-0042' --sort cost",
            f'  pyflare query{flag} "SELECT model, count(*) AS calls, round(sum(cost_usd), 2)'
            ' AS usd FROM spans WHERE model IS NOT NULL GROUP BY model ORDER BY usd DESC"',
            f"  pyflare store info{flag}",
        ]
    )
