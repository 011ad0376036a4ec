"""docs/grafana/pyflare-dashboard.json is a dashboard Grafana can import, and every metric
its queries name is one that ``pyflare metrics`` writes, or for its receiver panels one
that a running ``pyflare receive --metrics`` serves."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import httpx
from cli_support import ROOT, invoke
from prometheus_client.parser import text_string_to_metric_families

DASHBOARD = ROOT / "docs" / "grafana" / "pyflare-dashboard.json"


def test_dashboard_queries_only_metrics_pyflare_writes(demo_store: Path, tmp_path: Path) -> None:
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] and board["panels"] and board["__inputs"][0]["pluginId"] == "prometheus"
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    exprs.append(board["templating"]["list"][0]["query"]["query"])
    used = {name for expr in exprs for name in re.findall(r"\bpyflare_[a-z_]+", expr)}
    config = tmp_path / "pyflare.yaml"
    config.write_text("budgets:\n  - name: daily\n    period: day\n    limit_usd: 1\n")
    result = invoke("metrics", "--store", str(demo_store), "--config", str(config))
    assert result.exit_code == 0, result.output
    written = set()
    for family in text_string_to_metric_families(result.stdout):
        written.add(family.name)
        written.update(sample.name for sample in family.samples)
    receiver = {name for name in used if name.startswith("pyflare_receiver_")}
    assert receiver and used - receiver <= written, used - receiver - written
    assert receiver <= _receiver_metrics(tmp_path), receiver - _receiver_metrics(tmp_path)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))


def _receiver_metrics(tmp_path: Path) -> set[str]:
    """Metric and sample names a real receiver serves on /metrics."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "receiver"))
    from receiver_support import Running

    from pyflare_cli.receiver.server import ReceiverConfig

    config = ReceiverConfig(root=tmp_path / "received", http="127.0.0.1:0", grpc=None)
    running = Running(replace(config, metrics="http", workers=1))
    try:
        text = httpx.get(f"{running.http_url}/metrics", timeout=10).text
    finally:
        running.stop()
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names
