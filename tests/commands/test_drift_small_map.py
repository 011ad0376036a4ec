"""``pyflare drift`` reads the attribute keys its features name from the store's small
map when it serves them, and answers exactly as from ``attributes``: on a store of new
parts and on one of old parts (schema version 1, no small map)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_support import invoke
from small_map_support import as_version_1, record_small_map

from pyflare_cli.analysis.drift.concept import ConceptPair
from pyflare_cli.analysis.drift.features import BUILT_IN, parse_feature
from pyflare_cli.query.drift_samples import attribute_reads
from pyflare_cli.store.layout import StoreLayout

CATEGORY_FEATURE = "attr.embedding.model_name"
"""A category key the demo's embedding calls carry."""


@pytest.fixture(scope="module")
def stores(incident_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The incident store as written (new) and every part rewritten as version 1 (old)."""
    old = tmp_path_factory.mktemp("drift-versions") / "old"
    shutil.copytree(incident_store, old)
    for part in StoreLayout(old).span_files():
        as_version_1(part)
    return {"new": incident_store, "old": old}


def test_the_keys_come_from_features_and_concept_pairs() -> None:
    features = [*BUILT_IN, parse_feature("attr.user.tier")]
    pairs = (ConceptPair("attr.route", "attr.score"), ConceptPair("input_tokens"))
    assert attribute_reads(features, pairs).keys == {"user.tier", "route", "score"}
    assert not attribute_reads(list(BUILT_IN)).keys
    assert not attribute_reads(list(BUILT_IN)).any_category


def test_drift_is_byte_identical_and_reads_the_small_map_when_it_serves(
    stores: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = ("--feature", CATEGORY_FEATURE)
    small = record_small_map(monkeypatch)
    out: dict[str, str] = {}
    for name, root in stores.items():
        small.clear()
        args = ("drift", "--all-models", "--store", str(root), "--format", "json", *extra)
        result = invoke(*args)
        assert result.exit_code in (0, 1), result.output
        out[name] = result.stdout
        assert small and all(s == (name == "new") for s in small), (name, small)
    assert out["new"] == out["old"]
    assert CATEGORY_FEATURE in out["new"]


def test_a_key_outside_the_small_map_reads_the_full_map(
    stores: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    small = record_small_map(monkeypatch)
    args = ("drift", "--all-models", "--store", str(stores["new"]), "--format", "json")
    result = invoke(*args, "--feature", "attr.user.id")  # an id: never a category key
    assert result.exit_code in (0, 1), result.output
    assert small and not any(small)
