"""Every example runs offline as a script, and its traces ingest into the expected spans.

Each example runs as ``__main__`` writing OTLP JSON Lines to a file, which is ingested with
the CLI and checked span by span; one also runs as a script in a process of its own. The
PyTorch examples are skipped without PyTorch.
"""

from __future__ import annotations

import importlib.util
import os
import runpy
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from cli_support import invoke

from pyflare_cli.store.scan import scan_spans

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
HAS_TORCH = importlib.util.find_spec("torch") is not None

# example -> {span name: (ai_kind, how many)}
EXPECTED: dict[str, dict[str, tuple[str | None, int]]] = {
    "openai_chat": {
        "answer": ("chain", 1),
        "get_weather": ("tool", 1),
        "chat gpt-4o-mini": ("llm", 3),
        "tool_call get_weather": (None, 1),
    },
    "openai_streaming": {
        "stream_answer": ("chain", 1),
        "both": ("workflow", 1),
        "chat gpt-4o-mini": ("llm", 1),
        "chat gpt-4o": ("llm", 2),
    },
    "anthropic_tools": {
        "support-agent": ("agent", 1),
        "chat claude-haiku-4-5": ("llm", 2),
        "tool_call get_order_status": (None, 1),
        "get_order_status": ("tool", 1),
    },
    "langchain_agent": {
        "invoke_agent support_agent": ("agent", 1),
        "chat gpt-4o-mini": ("llm", 2),
        "execute_tool get_order_status": ("tool", 1),
        "execute_tool refund_policy": ("tool", 1),
    },
    "langchain_rag": {
        "rag_chain": ("chain", 1),
        "retrieve VectorStoreRetriever": ("retriever", 1),
        "chat gpt-4o-mini": ("llm", 1),
    },
    "multi_model_pipeline": {
        "answer_request": ("workflow", 2),
        "embeddings text-embedding-3-small": ("embedding", 2),
        "retrieve": ("retriever", 2),
        "rerank local-cross-encoder": ("reranker", 2),
        "score": ("evaluator", 4),
        "chat claude-haiku-4-5": ("llm", 4),
        "chat gpt-4o": ("llm", 2),
    },
    "pytorch_inference": {"inference batch": (None, 1), "forward intent-classifier": (None, 3)},
    "pytorch_training": {"train_step": (None, 5), "forward Sequential": (None, 5)},
}
NEEDS_TORCH = {"pytorch_inference", "pytorch_training"}


def check(name: str, traces: Path, store: Path) -> pl.DataFrame:
    """Ingest ``traces`` with the CLI and check the spans of example ``name``."""
    result = invoke("ingest", str(traces), "--store", str(store))
    assert result.exit_code == 0, result.output
    spans = scan_spans(store).collect()
    for span_name, (kind, count) in EXPECTED[name].items():
        found = spans.filter(pl.col("name") == span_name)
        assert found.height == count, (span_name, spans.get_column("name").to_list())
        assert found.get_column("ai_kind").to_list() == [kind] * count, span_name
        if kind == "llm":
            assert (found.get_column("output_tokens") > 0).all(), span_name
            assert found.get_column("model").null_count() == 0, span_name
    roots = spans.filter(pl.col("parent_span_id").is_null()).height
    assert spans.get_column("trace_id").n_unique() == roots
    return spans


def test_every_example_is_checked() -> None:
    assert {p.stem for p in EXAMPLES.glob("*.py")} == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_example(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as ``__main__`` in this process (fast: the imports are shared)."""
    if name in NEEDS_TORCH and not HAS_TORCH:
        pytest.skip("PyTorch is not installed")
    traces = tmp_path / "traces.jsonl"
    monkeypatch.setenv("PYFLARE_EXPORT", f"file://{traces}")
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    check(name, traces, tmp_path / "store")


def test_an_example_runs_as_a_script(tmp_path: Path) -> None:
    """In a process of its own, as a user runs it: there OpenTelemetry's global provider is
    pyflare's, so the Anthropic client's own call spans exist and must not be exported."""
    traces = tmp_path / "traces.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "PYFLARE_EXPORT"}
    env["PYTHONPATH"] = str(ROOT / "sdk" / "src")
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "anthropic_tools.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "Based on the tool: order A-1001: shipped"
    spans = check("anthropic_tools", traces, tmp_path / "store")
    assert spans.filter(pl.col("scope_name") == "com.anthropic.sdk.python").height == 0
    assert set(spans.get_column("user_id").to_list()) == {"user-7"}
