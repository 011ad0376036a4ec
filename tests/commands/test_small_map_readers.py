"""rca, the report's rca sections and ``stats --by attr.<key>`` read the store's small
attribute map when it serves them, and answer exactly as from ``attributes``: on a store
of new parts, of old parts (schema version 1, no small map) and of both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_support import invoke
from small_map_support import as_version_1, record_small_map

from pyflare_cli.store.category import AttributeReads, small_map_serves
from pyflare_cli.store.layout import StoreLayout

RCA_READS = AttributeReads(any_category=True)


@pytest.fixture(scope="module")
def stores(incident_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The incident store as written (new), every part rewritten as version 1 (old), and
    every other part rewritten (mixed)."""
    base = tmp_path_factory.mktemp("versions")
    found = {"new": incident_store}
    for name, every in (("old", 1), ("mixed", 2)):
        copy = base / name
        shutil.copytree(incident_store, copy)
        for part in StoreLayout(copy).span_files()[::every]:
            as_version_1(part)
        found[name] = copy
    return found


def _rca(store: Path, *args: str) -> str:
    result = invoke("rca", *args, "--store", str(store), "--format", "json")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_only_the_new_store_is_read_from_the_small_map(stores: dict[str, Path]) -> None:
    served = {
        name: small_map_serves(StoreLayout(root).span_files(), RCA_READS)
        for name, root in stores.items()
    }
    assert served == {"new": True, "old": False, "mixed": False}


@pytest.mark.parametrize(
    "args", [(), ("--dimension", "attr.http.route"), ("--unit", "span")], ids=str
)
def test_rca_errors_are_byte_identical_on_every_version(
    stores: dict[str, Path], args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    small = record_small_map(monkeypatch)
    new = _rca(stores["new"], *args)
    assert json.loads(new)["causes"], "the incident store has causes to compare"
    assert small and all(small)  # every window of the new store read the small map
    small.clear()
    assert _rca(stores["old"], *args) == new
    assert _rca(stores["mixed"], *args) == new
    assert small and not any(small)


def test_rca_latency_finds_the_same_dimensions_and_cause(stores: dict[str, Path]) -> None:
    """Latency reports vary run to run in their tested-slice count and last float digits
    (ties decided by summation order, issue 16), on one store too: compare what holds."""
    new = json.loads(_rca(stores["new"], "--metric", "latency"))
    old = json.loads(_rca(stores["old"], "--metric", "latency"))
    assert old["dimensions"] == new["dimensions"]
    assert any(name.startswith("attr.") for name in new["dimensions"])
    assert old["causes"][0]["title"] == new["causes"][0]["title"]


def test_the_reports_errors_and_rca_sections_are_equal(
    stores: dict[str, Path], tmp_path: Path
) -> None:
    pages = {}
    for name in ("new", "old"):
        out = tmp_path / f"{name}.md"
        args = ("--since", "1d", "--sections", "errors,rca", "-f", "markdown", "--out", str(out))
        result = invoke("report", *args, "--store", str(stores[name]))
        assert result.exit_code == 0, result.output
        pages[name] = out.read_text().replace(str(stores[name]), "STORE")
    assert "rag-api" in pages["new"]
    assert pages["old"] == pages["new"]


@pytest.mark.parametrize(
    ("by", "small_map"),
    [("attr.http.route", True), ("attr.http.route,attr.session.id", False)],
)
def test_stats_by_an_attribute_is_byte_identical_on_every_version(
    stores: dict[str, Path], by: str, small_map: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A category key is read from the small map; an id-like key never is (exact anyway)."""
    small = record_small_map(monkeypatch)

    def stats(store: Path) -> str:
        groups = [arg for name in by.split(",") for arg in ("--by", name)]
        args = (*groups, "--since", "2d", "--format", "json")
        result = invoke("stats", *args, "--store", str(store))
        assert result.exit_code == 0, result.output
        return result.stdout

    new = stats(stores["new"])
    assert '"attr.http.route": "/' in new  # routes were grouped
    assert small and all(small) is small_map
    assert stats(stores["old"]) == new
    assert stats(stores["mixed"]) == new


def test_a_search_reads_the_full_map(
    stores: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--where may name any attribute (an id, a payload): rca then reads ``attributes``."""
    small = record_small_map(monkeypatch)
    where = ("--where", "attr.gen_ai.operation.name:chat")
    new = _rca(stores["new"], *where)
    assert small and not any(small)
    assert _rca(stores["old"], *where) == new
