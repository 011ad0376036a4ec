"""``pyflare drift``: the demo's injected drifts are found, baselines, history, gate, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke

CLAUDE = "claude-sonnet-4-20250514"
GPT4O = "gpt-4o"
QUIET_MODELS = ("gpt-4o-mini", "o3-mini", "openrouter/meta-llama/llama-3.1-70b-instruct")
"""Models no demo incident touches."""


@pytest.fixture
def drift_store(incident_store: Path) -> Path:
    return incident_store


def _models(*args: str, code: int | None = None) -> dict[str, Any]:
    result = invoke("drift", *args, "--format", "json")
    if code is not None:
        assert result.exit_code == code, result.output
    payload = json.loads(result.stdout)
    return {m["model"]: m for m in payload["models"]}


def _status(model: dict[str, Any], feature: str) -> str:
    (row,) = [f for f in model["features"] if f["feature"] == feature]
    return str(row["status"])


def test_the_demo_prompt_shift_is_found_for_its_model_only(drift_store: Path) -> None:
    models = _models("--all-models", "--store", str(drift_store))
    claude = models[CLAUDE]
    assert _status(claude, "prompt_chars") == "drifted"
    assert _status(claude, "input_tokens") == "drifted"
    assert _status(claude, "output_tokens") == "ok"  # prompts grew, answers did not
    for name in QUIET_MODELS:
        assert _status(models[name], "prompt_chars") == "ok", name
        assert _status(models[name], "input_tokens") == "ok", name
    # The demo's other incident: user-0042's long gpt-4o calls are a real input drift.
    # Since the demo places its incidents relative to its own end, this window holds part of
    # that shift: input_tokens drifts, under half of gpt-4o's features do (a warning).
    assert _status(models[GPT4O], "input_tokens") == "drifted"
    assert models[GPT4O]["verdict"] in ("drifted", "warning")


def test_the_embedding_shift_is_found(drift_store: Path) -> None:
    models = _models("--model", "text-embedding-3-small", "--store", str(drift_store))
    (model,) = models.values()
    (row,) = [f for f in model["features"] if f["feature"] == "embedding"]
    assert row["status"] == "drifted" and row["method"] == "mmd" and row["p_value"] < 0.01
    assert "centroid cosine distance" in row["current"]


def test_the_gate(drift_store: Path) -> None:
    store = ("--store", str(drift_store))
    healthy = invoke(
        "drift", "--model", "gpt-4o-mini", "--only", "--feature", "output_tokens", *store
    )
    assert healthy.exit_code == 0, healthy.output
    assert "gpt-4o-mini: HEALTHY" in healthy.stdout
    warned = invoke("drift", "--model", CLAUDE, *store, "--drift-share", "1")
    assert warned.exit_code == 0 and "WARNING" in warned.stdout
    strict = invoke(
        "drift", "--model", CLAUDE, *store, "--drift-share", "1", "--fail-on", "warning"
    )
    assert strict.exit_code == 1 and CLAUDE in strict.stderr


def test_baseline_save_show_and_compare(drift_store: Path, tmp_path: Path) -> None:
    store = ("--store", str(drift_store))
    base = tmp_path / "base.parquet"
    saved = invoke(
        "drift",
        "baseline",
        "save",
        "--model",
        CLAUDE,
        "--since",
        "4d",
        "--until",
        "1d",
        "--out",
        str(base),
        *store,
    )
    assert saved.exit_code == 0, saved.output
    assert base.exists() and "spans of claude" in saved.stdout
    shown = invoke("drift", "baseline", "show", str(base))
    assert shown.exit_code == 0 and f"model: {CLAUDE}" in shown.stdout
    models = _models("--model", CLAUDE, "--baseline", str(base), *store)
    assert _status(models[CLAUDE], "prompt_chars") == "drifted"
    assert models[CLAUDE]["reference"]["label"].startswith("baseline base.parquet")
    other = invoke("drift", "--model", "gpt-4o-mini", "--baseline", str(base), *store)
    assert other.exit_code == 2 and f"holds {CLAUDE}" in other.stderr


def test_history_marks_the_drift_day(drift_store: Path) -> None:
    result = invoke(
        "drift",
        "history",
        "--model",
        CLAUDE,
        "--since",
        "3d",
        "--reference-days",
        "1",
        "--only",
        "--feature",
        "prompt_chars",
        "--store",
        str(drift_store),
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    rows = [p for p in payload["periods"] if p["feature"] == "prompt_chars"]
    assert len(rows) >= 3
    assert rows[-1]["status"] == "drifted"
    assert rows[0]["status"] == "ok"
    table = invoke(
        "drift", "history", "--model", CLAUDE, "--since", "3d", "--store", str(drift_store)
    )
    assert table.exit_code == 0 and "trend" in table.stdout


def test_csv_and_markdown(drift_store: Path) -> None:
    store = ("--store", str(drift_store))
    csv = invoke("drift", "--model", "gpt-4o-mini", *store, "--format", "csv")
    assert csv.exit_code == 0 and csv.stdout.startswith("model,verdict,feature,")
    markdown = invoke("drift", "--model", "gpt-4o-mini", *store, "--format", "markdown")
    assert markdown.exit_code == 0, markdown.output
    assert markdown.stdout.startswith("**PASS** `drift` (2026-11-19T12:00:00+00:00 .. ")
    assert "| gpt-4o-mini: drifted features | 50% | 13% | pass - warning: 2 of 15" in (
        markdown.stdout
    )
    assert "nan" not in markdown.stdout and "e-0" not in markdown.stdout
    assert "[" not in markdown.stdout  # no histogram arrays


def test_the_verdict_json_shape(drift_store: Path) -> None:
    result = invoke("drift", "--model", CLAUDE, "--store", str(drift_store), "--format", "json",
                    "--fail-on", "warning")  # fmt: skip
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert {"version", "verdict", "gate", "since", "until", "checks", "warnings"} <= set(payload)
    assert payload["version"] == 1 and payload["verdict"] == "fail" and payload["gate"] == "drift"
    (check,) = payload["checks"]
    assert check["name"] == f"{CLAUDE}: drifted features" and check["passed"] is False
    assert check["limit"] == 0.5 and check["unit"] == "share" and 0 < check["value"] <= 1
    assert "(fails at warning or worse)" in check["detail"]
    drifted = {row["feature"] for row in check["offending"]}
    assert {"prompt_chars", "input_tokens"} <= drifted and "output_tokens" not in drifted
    assert set(check["offending"][0]) == {
        "feature", "method", "score", "threshold", "p_value", "reference", "current"
    }  # fmt: skip
    assert payload["models"][0]["model"] == CLAUDE  # the full report stays beside it


def test_a_feature_condition_fails_the_gate_on_claude_prompt_growth(
    drift_store: Path, tmp_path: Path
) -> None:
    # With the share rule at 100%, Claude's 2.5x longer prompts are only a warning ...
    store = ("--store", str(drift_store))
    share_only = invoke("drift", "--model", CLAUDE, *store, "--drift-share", "1")
    assert share_only.exit_code == 0 and "WARNING" in share_only.stdout
    # ... and a gate configured on input_tokens fails on them.
    gated = invoke(
        "drift", "--model", CLAUDE, *store, "--drift-share", "1",
        "--fail-on-feature", "input_tokens", "--format", "json",
    )  # fmt: skip
    assert gated.exit_code == 1, gated.output
    assert f"{CLAUDE}: input_tokens" in gated.stderr
    payload = json.loads(gated.stdout)
    checks = {c["name"]: c for c in payload["checks"]}
    assert checks[f"{CLAUDE}: drifted features"]["passed"] is True
    tokens = checks[f"{CLAUDE}: input_tokens"]
    assert tokens["passed"] is False and tokens["value"] == "drifted"
    assert tokens["limit"] == "never drifted"
    assert [r["feature"] for r in tokens["offending"]] == ["input_tokens"]
    assert payload["verdict"] == "fail" and payload["conditions"] == {"input_tokens": "drifted"}
    markdown = invoke(
        "drift", "--model", CLAUDE, *store, "--drift-share", "1",
        "--fail-on-feature", "input_tokens", "--format", "markdown",
    )  # fmt: skip
    assert markdown.exit_code == 1
    assert markdown.stdout.startswith("**FAIL** `drift`")
    assert f"| {CLAUDE}: input_tokens | never drifted | drifted | **fail**" in markdown.stdout
    table = invoke(
        "drift", "--model", CLAUDE, *store, "--drift-share", "1",
        "--fail-on-feature", "input_tokens",
    )  # fmt: skip
    assert table.exit_code == 1 and f"FAIL {CLAUDE}: input_tokens: drifted" in table.stdout
    # The same condition in pyflare.yaml.
    config = tmp_path / "pyflare.yaml"
    config.write_text("drift:\n  drift_share: 1\n  conditions: {input_tokens: drifted}\n")
    configured = invoke("drift", "--model", CLAUDE, *store, "--config", str(config))
    assert configured.exit_code == 1, configured.output
    # A model whose input did not drift passes the same condition.
    quiet = invoke(
        "drift", "--model", "gpt-4o-mini", *store, "--config", str(config), "--format", "json"
    )
    assert quiet.exit_code == 0, quiet.output
    checks = {c["name"]: c for c in json.loads(quiet.stdout)["checks"]}
    assert checks["gpt-4o-mini: input_tokens"]["value"] == "ok"


def test_a_feature_condition_that_cannot_be_tested(drift_store: Path) -> None:
    store = ("--store", str(drift_store))
    args = ("drift", "--model", CLAUDE, *store, "--only", "--min-samples", "100000")
    loose = invoke(*args, "--fail-on-feature", "input_tokens", "--format", "json")
    assert loose.exit_code == 0, loose.output
    assert "input_tokens was not tested (insufficient data)" in loose.stdout
    strict = invoke(*args, "--fail-on-feature", "input_tokens=insufficient")
    assert strict.exit_code == 1, strict.output


@pytest.mark.parametrize(
    ("args", "config", "message"),
    [
        (("--fail-on-feature", "colour"), "", "--fail-on-feature: unknown feature 'colour'"),
        (("--fail-on-feature", "input_tokens=sometimes"), "",
         "the level 'sometimes' is not one of drifted, insufficient"),
        ((), "drift:\n  conditions: {input_tokens: always}\n",
         "drift.conditions.input_tokens: 'input_tokens=always'"),
        ((), "drift:\n  conditions: [input_tokens]\n", "drift.conditions"),
    ],
)  # fmt: skip
def test_bad_feature_conditions_exit_2(
    drift_store: Path, tmp_path: Path, args: tuple[str, ...], config: str, message: str
) -> None:
    path = tmp_path / "pyflare.yaml"
    path.write_text(config)
    result = invoke("drift", "--model", CLAUDE, "--store", str(drift_store),
                    "--config", str(path), *args)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "name a model with --model, or use --all-models"),
        (("--model", "nope"), "--model nope: no model calls in the current window 2026-11-19"),
        (
            ("--all-models", "--reference", "2020-01-01..2020-01-02"),
            "--all-models: no model calls in the reference 2020-01-01 00:00..2020-01-03",
        ),
        (
            ("--model", "gpt-4o-mini", "--reference", "2026-11-18..2026-11-20"),
            "overlaps the current window",
        ),
        (("--model", "gpt-4o-mini", "--baseline", "."), "no such file (a folder)"),
        (("--model", "gpt-4o-mini", "--method", "magic"), "method 'magic'"),
        (("--model", "gpt-4o-mini", "--feature", "colour"), "unknown feature 'colour'"),
        (("--model", "gpt-4o-mini", "--threshold", "x"), "'x' is not a number"),
        (("--model", "gpt-4o-mini", "--reference", "2026-11-05"), "use START..END"),
        (("--model", "gpt-4o-mini", "--fail-on", "never"), "--fail-on 'never'"),
        (("--model", "gpt-4o-mini", "--baseline", "missing.parquet"), "no such file"),
        (("--model", "gpt-4o-mini", "--outcome", "mood"), "outcome 'mood'"),
        (("--model", "gpt-4o-mini", "--since", "1h", "--until", "2h"), "the window is empty"),
        (("--model", "gpt-4o-mini", "--since", "2026-11-25"), "starts after now (2026-11-20"),
    ],
)
def test_errors_exit_2_and_name_the_option(
    drift_store: Path, args: tuple[str, ...], message: str
) -> None:
    result = invoke("drift", *args, "--store", str(drift_store))
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_a_file_that_is_not_a_baseline(tmp_path: Path, drift_store: Path) -> None:
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    result = invoke(
        "drift", "--model", "gpt-4o-mini", "--baseline", str(junk), "--store", str(drift_store)
    )
    assert result.exit_code == 2 and "not a Parquet file" in result.stderr


def test_config_section(tmp_path: Path, drift_store: Path) -> None:
    config = tmp_path / "pyflare.yaml"
    config.write_text("drift:\n  methods: {input_tokens: psi}\n  correction: bonferroni\n")
    models = _models("--model", CLAUDE, "--config", str(config), "--store", str(drift_store))
    (row,) = [f for f in models[CLAUDE]["features"] if f["feature"] == "input_tokens"]
    assert row["method"] == "psi" and models[CLAUDE]["correction"] == "bonferroni"
    config.write_text("drift:\n  colour: blue\n")
    bad = invoke("drift", "--model", CLAUDE, "--config", str(config), "--store", str(drift_store))
    assert bad.exit_code == 2 and "drift.colour is not a known key" in bad.stderr


def test_methods_that_do_not_fit_numbers_fall_back(drift_store: Path) -> None:
    # z needs two values and chi-squared few: forced on token counts they would crash or
    # call every unseen count a new category.
    for method in ("z", "chisquare"):
        models = _models("--model", "gpt-4o-mini", "--method", method, "--store", str(drift_store))
        (tokens,) = [f for f in models["gpt-4o-mini"]["features"] if f["feature"] == "input_tokens"]
        assert tokens["method"] == "wasserstein", method


def test_json_is_strict_even_with_infinite_statistics(drift_store: Path) -> None:
    # A category new in the current window makes chi-squared's statistic infinite.
    result = invoke(
        "drift",
        "--model",
        GPT4O,
        "--reference-days",
        "1",
        "--method",
        "chisquare",
        "--store",
        str(drift_store),
        "--format",
        "json",
    )
    json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"non-JSON {name}"))


def test_all_models_groups_failed_calls_with_their_model(drift_store: Path) -> None:
    # Failed calls carry only the request name (gpt-4o), successful ones also the response
    # name (gpt-4o-2024-08-06): one model, whose status can drift.
    models = _models("--all-models", "--store", str(drift_store))
    assert "gpt-4o-2024-08-06" not in models and GPT4O in models
    (status,) = [f for f in models[GPT4O]["features"] if f["feature"] == "status"]
    assert status["method"] != "constant" and "error" in status["current"]


def test_concept_drift_of_errors_conditions_on_prompt_length(drift_store: Path) -> None:
    models = _models("--model", "gpt-4o-mini", "--store", str(drift_store))
    concept = [f for f in models["gpt-4o-mini"]["features"] if f["drift_type"] == "concept"]
    assert [f["feature"] for f in concept] == ["error | prompt_chars"]
    # The rag-api 2.0 deploy: gpt-4o-mini calls in eu-west-1 now fail 20% of the time.
    assert concept[0]["status"] == "drifted"


def test_baseline_where_must_match(drift_store: Path, tmp_path: Path) -> None:
    store = ("--store", str(drift_store))
    base = tmp_path / "errors.parquet"
    saved = invoke(
        "drift",
        "baseline",
        "save",
        "--model",
        "gpt-4o-mini",
        "--since",
        "4d",
        "--until",
        "1d",
        "--where",
        "env:prod",
        "--out",
        str(base),
        *store,
    )
    assert saved.exit_code == 0, saved.output
    plain = invoke("drift", "--model", "gpt-4o-mini", "--baseline", str(base), *store)
    assert plain.exit_code == 2 and "saved with --where 'env:prod'" in plain.stderr
    same = invoke(
        "drift", "--model", "gpt-4o-mini", "--baseline", str(base), "--where", "env:prod", *store
    )
    assert same.exit_code in (0, 1), same.output


def test_a_baseline_missing_columns_is_refused(drift_store: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    base = tmp_path / "base.parquet"
    saved = invoke(
        "drift",
        "baseline",
        "save",
        "--model",
        "gpt-4o-mini",
        "--out",
        str(base),
        "--store",
        str(drift_store),
    )
    assert saved.exit_code == 0, saved.output
    table = pq.read_table(base)
    pq.write_table(table.drop(["attributes"]), tmp_path / "old.parquet")
    result = invoke(
        "drift",
        "--model",
        "gpt-4o-mini",
        "--baseline",
        str(tmp_path / "old.parquet"),
        "--store",
        str(drift_store),
    )
    assert result.exit_code == 2 and "lacks column(s) attributes" in result.stderr


def test_fail_on_insufficient_data(drift_store: Path) -> None:
    store = ("--store", str(drift_store))
    # No feature has 100,000 values: every row is insufficient data.
    args = ("drift", "--model", "gpt-4o-mini", "--min-samples", "100000", *store)
    assert invoke(*args).exit_code == 0
    failed = invoke(*args, "--fail-on", "insufficient")
    assert failed.exit_code == 1 and "insufficient" in failed.stderr
