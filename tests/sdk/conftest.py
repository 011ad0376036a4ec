"""Fixtures of the SDK tests: pyflare initialised into memory, and the fake LLM APIs.

The SDK is imported from ``sdk/src`` (``pythonpath`` in the pytest configuration), the
fake OpenAI/Anthropic server from ``examples/fake_llm``, the receiver harness from
``tests/receiver`` and the in-process CLI runner from ``tests/commands``. Each test gets
its own ``pyflare.init`` and shuts it down, which also undoes the integrations;
OpenTelemetry's global provider is left alone (``set_global=False``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT / "examples", ROOT / "tests" / "receiver", ROOT / "tests" / "commands"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import pyflare  # noqa: E402
from fake_llm import FakeLLMServer  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from sdk_support import Recorded  # noqa: E402


@pytest.fixture(autouse=True)
def keep_global_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """``init`` in these tests (examples run in-process too) never sets OpenTelemetry's
    global provider, which can be set once per process; the script tests cover it."""
    monkeypatch.setattr(pyflare.bootstrap, "_set_global", lambda provider: None)


@pytest.fixture
def traced() -> Iterator[Recorded]:
    """``pyflare.init`` exporting each span to memory as it ends; ``traced.spans`` reads them."""
    exporter = InMemorySpanExporter()
    handle = pyflare.init(service_name="sdk-tests", export=exporter, batch=False, set_global=False)
    yield Recorded(exporter, handle)
    handle.shutdown()


@pytest.fixture
def openai_traced(traced: Recorded) -> Recorded:
    """:func:`traced` with the OpenAI integration on."""
    return _with(traced, "openai")


@pytest.fixture
def anthropic_traced(traced: Recorded) -> Recorded:
    """:func:`traced` with the Anthropic integration on."""
    return _with(traced, "anthropic")


@pytest.fixture
def langchain_traced(traced: Recorded) -> Recorded:
    """:func:`traced` with the LangChain integration on."""
    return _with(traced, "langchain")


def _with(traced: Recorded, *names: str) -> Recorded:
    from pyflare.integrations import instrument

    traced.handle.instrumented = instrument(list(names))
    return traced


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server
