"""Ingest speed of Langfuse's exports and a Phoenix CSV: ``pyflare ingest FILE``, 200k spans.

Writes, in the shapes of ``fixtures/langfuse`` and ``fixtures/phoenix``, N observations
(a SPAN with a GENERATION, a GENERATION and an EVENT under it per trace, plus one trace
record per trace) as: an observation JSON Lines export, one API-page JSON document, the
SQLite database (traces, generations, spans) and a Phoenix ``to_csv`` export; then ingests
each into an empty store in a child process and prints wall time, spans/s and peak RSS.

    .venv/bin/python benchmarks/bench_langfuse_ingest.py --spans 200000 --out /tmp/lf-bench
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _iso(ms: int) -> str:
    return (T0 + timedelta(milliseconds=ms)).isoformat().replace("+00:00", "Z")


def observations(traces: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    obs: list[dict[str, Any]] = []
    heads: list[dict[str, Any]] = []
    for t in range(traces):
        trace, base = f"trace-{t}", t * 1000
        heads.append(
            {
                "id": trace,
                "timestamp": _iso(base),
                "name": "support",
                "userId": f"user-{t % 97}",
                "sessionId": f"s-{t % 1000}",
                "release": "v1",
                "metadata": {"agent_name": "support"},
                "tags": ["prod"],
                "htmlPath": f"/t/{trace}",
            }
        )
        common = {"traceId": trace, "level": "DEFAULT", "environment": "prod"}
        obs.append(
            {
                **common,
                "id": f"{trace}-a",
                "type": "SPAN",
                "name": "agent",
                "startTime": _iso(base),
                "endTime": _iso(base + 900),
                "parentObservationId": None,
                "input": {"q": f"question {t}"},
            }
        )
        for k in (1, 2):
            obs.append(
                {
                    **common,
                    "id": f"{trace}-g{k}",
                    "type": "GENERATION",
                    "name": "chat",
                    "startTime": _iso(base + 100 * k),
                    "endTime": _iso(base + 100 * k + 80),
                    "parentObservationId": f"{trace}-a",
                    "model": "gpt-4o-mini",
                    "input": [{"role": "user", "content": f"Where is order {t}?"}],
                    "output": {"role": "assistant", "content": "It ships tomorrow."},
                    "usageDetails": {"input": 120 + k, "output": 30, "total": 150 + k},
                    "costDetails": {"total": 0.0001},
                }
            )
        obs.append(
            {
                **common,
                "id": f"{trace}-e",
                "type": "EVENT",
                "name": "cache-hit",
                "startTime": _iso(base + 500),
                "parentObservationId": f"{trace}-a",
            }
        )
    return obs, heads


def write_all(out: Path, spans: int) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    obs, heads = observations(spans // 4)
    files = {"jsonl": out / "observations.jsonl", "page": out / "page.json"}
    with files["jsonl"].open("w") as handle:
        for record in obs:
            handle.write(json.dumps(record) + "\n")
    files["page"].write_text(
        json.dumps({"data": heads + obs, "meta": {"page": 1, "totalItems": len(obs)}})
    )
    files["sqlite"] = out / "langfuse.db"
    files["sqlite"].unlink(missing_ok=True)
    db = sqlite3.connect(files["sqlite"])
    sql = (Path(__file__).parents[1] / "fixtures" / "langfuse" / "langfuse_export.sql").read_text()
    db.executescript(sql.split("INSERT")[0])
    db.executemany(
        "INSERT INTO traces VALUES (?, ?, ?, ?, ?, ?)",
        [
            (h["id"], h["name"], h["userId"], h["sessionId"], h["timestamp"], '{"agent_name":"a"}')
            for h in heads
        ],
    )
    gens = [o for o in obs if o["type"] == "GENERATION"]
    db.executemany(
        "INSERT INTO generations (id, trace_id, parent_observation_id, name, model, input,"
        " output, input_tokens, output_tokens, total_tokens, total_cost, start_time, end_time,"
        " level) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                o["id"],
                o["traceId"],
                o["parentObservationId"],
                o["name"],
                o["model"],
                json.dumps(o["input"]),
                json.dumps(o["output"]),
                o["usageDetails"]["input"],
                30,
                o["usageDetails"]["total"],
                0.0001,
                o["startTime"],
                o["endTime"],
                "DEFAULT",
            )
            for o in gens
        ],
    )
    db.executemany(
        "INSERT INTO spans (id, trace_id, parent_observation_id, name, start_time, end_time,"
        " level) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                o["id"],
                o["traceId"],
                o["parentObservationId"],
                o["name"],
                o["startTime"],
                o.get("endTime") or o["startTime"],
                "DEFAULT",
            )
            for o in obs
            if o["type"] != "GENERATION"
        ],
    )
    db.commit()
    db.close()
    files["phoenix_csv"] = out / "spans_dataframe.csv"
    _phoenix_csv(files["phoenix_csv"], spans)
    return files


def _phoenix_csv(path: Path, spans: int) -> None:
    """Rows as ``get_spans_dataframe().to_csv()`` writes them (Python-literal list cells)."""
    import csv

    columns = [
        "context.span_id", "name", "span_kind", "parent_id", "start_time", "end_time",
        "status_code", "status_message", "events", "context.trace_id",
        "attributes.llm.model_name", "attributes.llm.token_count.prompt",
        "attributes.llm.token_count.completion", "attributes.llm.input_messages",
        "attributes.output.value",
    ]  # fmt: skip
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i in range(spans):
            start = T0 + timedelta(milliseconds=i)
            messages = [{"message.role": "user", "message.content": f"Where is order {i}?"}]
            events = (
                [{"name": "exception", "timestamp": start.isoformat(),
                  "attributes": {"exception.type": "TimeoutError"}}]
                if i % 50 == 0 else []
            )  # fmt: skip
            writer.writerow(
                [
                    f"{i + 1:016x}", "ChatCompletion", "LLM", "", start.isoformat(),
                    (start + timedelta(milliseconds=80)).isoformat(),
                    "ERROR" if events else "OK", "", str(events), f"{i // 4 + 1:032x}",
                    "gpt-4o-mini", 120, 30, str(messages), "It ships tomorrow.",
                ]
            )  # fmt: skip


def ingest(path: Path, store: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB of the child, spans stored)."""
    # A wrapper process per run, so the peak RSS is this run's (its largest descendant).
    wrapper = (
        "import resource, subprocess, sys, time; s = time.perf_counter();"
        " r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        " sys.stderr.write(r.stderr); print(r.returncode, time.perf_counter() - s,"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(r.stdout)"
    )
    command = [sys.executable, "-m", "pyflare_cli", "ingest", str(path), "--store", str(store)]
    result = subprocess.run(
        [sys.executable, "-c", wrapper, *command, "-f", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    head, _, summary = result.stdout.partition("\n")
    code, wall, peak_kib = head.split()
    if code != "0":
        raise SystemExit(f"{path}: exit {code}: {result.stderr[-2000:]}")
    return float(wall), int(peak_kib) / 1024, int(json.loads(summary)["spans"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/pyflare-langfuse-bench"))
    args = parser.parse_args()
    files = write_all(args.out, args.spans)
    print("| input | size | spans | wall | spans/s | peak RSS |")
    print("|---|---|---|---|---|---|")
    for name, path in files.items():
        store = args.out / f"store-{name}"
        subprocess.run(["rm", "-rf", str(store)], check=True)
        wall, peak, stored = ingest(path, store)
        size = path.stat().st_size / 1e6
        print(
            f"| {name} | {size:.1f} MB | {stored:,} | {wall:.1f} s | {stored / wall / 1000:.1f}k"
            f" | {peak:.0f} MiB |"
        )


if __name__ == "__main__":
    main()
