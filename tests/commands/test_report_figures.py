"""The report's figures are the commands' figures: its charts' JSON and its tables agree
with `pyflare cost`, `stats` and `drift` run on the same window of the same store."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke


@pytest.fixture(scope="module")
def charts(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("figures") / "r.html"
    args = ["--sections", "overview,cost,errors", "--traces", "0", "--out", str(out)]
    result = invoke("report", "--since", "7d", "--store", str(demo_store), *args)
    assert result.exit_code == 0, result.output
    blocks = re.findall(
        r'<script type="application/json" id="([^"]+)-data">(.*?)</script>', out.read_text()
    )
    return {key: json.loads(text)["values"] for key, text in blocks}


def _json(*args: str) -> Any:
    result = invoke(*args, "--since", "7d", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_spend_by_model_is_pyflare_costs(charts: dict[str, Any], demo_store: Path) -> None:
    cost = _json("cost", "--by", "model", "--store", str(demo_store))
    summed: dict[str, float] = defaultdict(float)
    for row in charts["cost-by-model"]:
        summed[row["model"]] += row["cost_usd"]
    expected = {r["model"]: r["cost_usd"] for r in cost["rows"]}
    assert summed.keys() == expected.keys()
    # Each period's sum is rounded to the micro-dollar, as the command's own sparkline.
    periods = len({row["period"] for row in charts["cost-by-model"]})
    assert all(summed[m] == pytest.approx(expected[m], abs=1e-6 * periods) for m in expected)


def test_overview_is_pyflare_stats(charts: dict[str, Any], demo_store: Path) -> None:
    stats = _json("stats", "--store", str(demo_store))["rows"][0]
    assert sum(r["requests"] for r in charts["overview-requests"]) == stats["requests"]
    periods = len(charts["overview-cost_usd"])
    assert sum(r["cost_usd"] for r in charts["overview-cost_usd"]) == pytest.approx(
        stats["cost_usd"], abs=1e-6 * periods
    )


def test_error_rates_are_pyflare_stats_by_model(charts: dict[str, Any], demo_store: Path) -> None:
    stats = _json("stats", "--by", "model", "--unit", "llm", "--store", str(demo_store))
    expected = {r["model"]: (r["errors"], r["requests"]) for r in stats["rows"]}
    shown = {r["model"]: (r["errors"], r["requests"]) for r in charts["errors-by-model"]}
    assert shown == expected


def test_error_table_is_pyflare_stats_by_model(demo_store: Path) -> None:
    stats = _json("stats", "--by", "model", "--unit", "llm", "--store", str(demo_store))
    result = invoke("report", "-f", "markdown", "--sections", "errors", "--store", str(demo_store))
    assert result.exit_code == 0, result.output
    table = result.stdout.split("**Error rate by model (LLM calls)**")[1].split("\n\n")[1]
    shown = {}
    for line in table.splitlines()[2:]:
        model, calls, errors, _, change = (c.strip() for c in line.strip("| ").split(" | "))
        shown[model.replace("\\", "")] = (int(errors), int(calls.replace(",", "")), change)
    expected = {
        r["model"]: (r["errors"], r["requests"], f"{r['error_rate_change'] * 100:+.1f} pt")
        for r in stats["rows"]
    }
    assert shown == expected


DRIFT_CONFIG = """drift:
  methods: {input_tokens: psi, output_tokens: wasserstein}
  thresholds: {input_tokens: 0.05}
  drift_share: 0.2
  correction: bonferroni
  conditions:
    attr.gen_ai.request.temperature: drifted
"""


@pytest.mark.parametrize("configured", [False, True], ids=["defaults", "pyflare.yaml"])
def test_drift_verdicts_are_pyflare_drifts(
    demo_store: Path, tmp_path: Path, configured: bool
) -> None:
    config = tmp_path / "pyflare.yaml"
    config.write_text(DRIFT_CONFIG if configured else "{}\n")
    store = ("--store", str(demo_store), "--config", str(config))
    verdict = invoke("drift", "--all-models", "--since", "7d", "--format", "json", *store)
    assert verdict.exit_code in (0, 1), verdict.output
    details = {
        check["name"].split(": drifted features")[0]: check["detail"]
        for check in json.loads(verdict.stdout)["checks"]
        if ": drifted features" in check["name"]
    }
    result = invoke("report", "-f", "markdown", "--sections", "drift", *store)
    assert result.exit_code == 0, result.output
    rows = re.findall(
        r"^\| (\S+) \| (drifted|warning|healthy|insufficient data) \| (\d+) of (\d+) \|",
        result.stdout,
        re.M,
    )
    assert len(rows) == 4
    for model, status, drifted, tested in rows:
        model = model.replace("\\", "")
        assert details[model].startswith(f"{status}: {drifted} of {tested} features"), model
    if configured:
        assert "| input\\_tokens | psi |" in result.stdout
        assert "attr.gen\\_ai.request.temperature" in result.stdout


def test_where_narrows_as_it_does_for_cost(demo_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    where = "model:gpt-4o-mini"
    result = invoke(
        "report",
        "--sections",
        "cost",
        "--where",
        where,
        "--store",
        str(demo_store),
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    block = re.search(r'id="cost-by-model-data">(.*?)</script>', page)
    assert block
    rows = json.loads(block.group(1))["values"]
    cost = _json("cost", "--by", "model", "--where", where, "--store", str(demo_store))
    assert {r["model"] for r in rows} == {r["model"] for r in cost["rows"]} == {"gpt-4o-mini"}
    assert "where <code>model:gpt-4o-mini</code>" in page


def test_rca_evidence_shows_the_failure_table_share(demo_store: Path) -> None:
    # one template, one share: the cause's "(x of its errors)" is the table's share cell
    args = ["-f", "markdown", "--sections", "errors,rca", "--store", str(demo_store)]
    result = invoke("report", *args)
    assert result.exit_code == 0, result.output
    table = dict(
        re.findall(r"^\| (.+?) \| [\d,.k]+ \| ([\d.]+%) \| [\d,.k]+ \|", result.stdout, re.M)
    )
    causes = re.findall(
        r"\| new failure: (.+?) \| [\d,]+x in the window \(([\d.]+%) of its errors\)",
        result.stdout,
    )
    assert causes and table
    small = [t for t, _ in causes if "." in table.get(t, "")]
    assert small, "no share under 10% among the causes' templates: the check would not bite"
    for template, share in causes:
        assert table[template] == share, template
