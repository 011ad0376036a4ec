"""Data is never markup: every command shows ``[/INST]``, ``[bold]`` and ``[link=...]`` verbatim.

The strings sit in service, span and event names, models, attribute keys and values,
error messages and prompts of traces recorded by the real OpenTelemetry SDK
(:mod:`hostile_traces`), and in the store path, queries and trace ids a user types. A
``MarkupError`` (exit 3) or a bracketed part that silently disappears fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import invoke
from hostile_traces import (
    BOLD,
    CLOSE,
    ERROR_MESSAGE,
    LINK,
    MODEL,
    ROOT_NAME,
    SERVICE,
    hostile_store,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # The store's own path is hostile too: it is printed by demo, ingest and store info.
    yield hostile_store(tmp_path_factory.mktemp("hostile") / f"s{BOLD}{LINK}")


def trace_id(store: Path) -> str:
    result = invoke("traces", "--store", str(store), "--format", "json")
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)[0]["trace_id"])


def ok(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, (result.exit_code, result.output)
    return result.stdout


def test_traces_table(store: Path) -> None:
    out = ok("traces", "--store", str(store))
    assert f"{SERVICE}: {ROOT_NAME}" in out and MODEL in out


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_query_prints_values_verbatim(store: Path, fmt: str) -> None:
    sql = "SELECT name, service_name, model, status_message FROM spans ORDER BY name"
    out = ok("query", sql, "--store", str(store), "--format", fmt)
    for text in (ROOT_NAME, SERVICE, MODEL, f"tool {BOLD}", CLOSE, LINK):
        assert text in out, text


def test_query_prints_attribute_maps_and_prompts(store: Path) -> None:
    sql = "SELECT attributes, input_text FROM spans WHERE model IS NOT NULL LIMIT 1"
    out = ok("query", sql, "--store", str(store))
    assert f"attr{LINK}" in out.replace("\n", "") or "attr[link=" in out
    assert CLOSE in out


def test_trace_show(store: Path) -> None:
    out = ok("trace", "show", trace_id(store), "--store", str(store))
    for text in (SERVICE, ROOT_NAME, f"tool {BOLD}", "chat [link=https://evil.example]llama"):
        assert text in out, text


def test_search_with_markup_in_the_query(store: Path) -> None:
    out = ok("traces", "--store", str(store), "--where", f'text:"{CLOSE}"')
    assert ROOT_NAME in out
    result = invoke("traces", "--store", str(store), "--where", 'text:"[/nothing]"')
    assert result.exit_code == 0 and "no traces match" in result.stdout


def test_a_trace_id_that_looks_like_markup_is_named_in_one_line(store: Path) -> None:
    result = invoke("trace", "show", CLOSE, "--store", str(store))
    assert result.exit_code == 2
    assert CLOSE in result.output and "Traceback" not in result.output


def test_cost_by_model_names_the_unpriced_model(store: Path) -> None:
    out = ok("cost", "--by", "model", "--store", str(store), "--since", "7d")
    assert MODEL in out


def test_store_info_and_ingest_print_the_path(store: Path, tmp_path: Path) -> None:
    out = ok("store", "info", "--store", str(store))
    assert "spans" in out
    dump = store.parent / "hostile.pb"
    out = ok("ingest", str(dump), "--store", str(tmp_path / f"t{CLOSE}x"))
    assert "ingested" in out


def test_demo_prints_its_store_path(tmp_path: Path) -> None:
    root = tmp_path / f"demo{BOLD}{LINK}"
    out = ok("demo", "--spans", "200", "--days", "1", "--store", str(root))
    assert str(root) in out.replace("\n", "")


def test_error_messages_keep_brackets(store: Path) -> None:
    assert ERROR_MESSAGE in ok(
        "query",
        "SELECT status_message FROM spans WHERE status_message IS NOT NULL",
        "--store",
        str(store),
    ).replace("\n", "")
