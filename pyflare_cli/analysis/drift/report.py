"""Drift of one model between a reference and a current sample: per-feature tests and a verdict.

Frames in (one column per feature, see :mod:`features`), one row per feature out,
plus the model-level verdict as Evidently defines it: ``drifted`` when the share of drifted
features reaches ``drift_share``, ``warning`` when any feature drifted, else ``healthy``.
The statistics themselves live in :mod:`stats`; concept drift in :mod:`concept`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from pyflare_cli.analysis.drift.concept import concept_rows
from pyflare_cli.analysis.drift.embedding import centroid_cosine_distance, mmd_test
from pyflare_cli.analysis.drift.features import (
    NONE_CATEGORY,
    TEXT_SOURCES,
    Feature,
    FeatureKind,
    numeric_share,
    oov_shares,
)
from pyflare_cli.analysis.drift.model import (
    ROW_SCHEMA,
    Correction,
    DriftReport,
    DriftSettings,
    verdict,
)
from pyflare_cli.analysis.drift.stats import (
    DEFAULT_THRESHOLDS,
    P_VALUE_METHODS,
    TestResult,
    categorical_test,
    default_method,
    effective_kind,
    numerical_test,
)

HIST_BINS = 8
CHISQUARE_MAX_VALUES = 20
"""Above this many distinct numbers, chi-squared would treat every new value as a category."""
NUMERIC_ATTRIBUTE_SHARE = 0.95
"""An attribute is numerical when this share of its set values reads as numbers."""


def _row(feature: Feature, n_ref: int, n_cur: int, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(ROW_SCHEMA)
    kind = "text" if feature.kind == "text" else feature.kind
    row.update(feature=feature.name, drift_type=feature.drift_type, kind=kind)
    row.update(n_reference=n_ref, n_current=n_cur, status="insufficient data")
    row.update(values)
    return row


def _number(value: float) -> str:
    if value != value:
        return "nan"
    if abs(value) >= 1000 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _numeric_summary(values: np.ndarray) -> str:
    """Mean and median of sorted ``values``."""
    if values.size == 0:
        return "-"
    middle = values.size // 2
    median = values[middle] if values.size % 2 else (values[middle - 1] + values[middle]) / 2
    return f"mean {_number(float(values.mean()))} · median {_number(float(median))}"


def _numeric_hists(ref: np.ndarray, cur: np.ndarray) -> tuple[list[float], list[float]]:
    pooled = np.concatenate([ref, cur])
    low, high = np.quantile(pooled, [0.01, 0.99]) if pooled.size else (0.0, 0.0)
    if high <= low:
        high = low + 1.0
    out = []
    for values in (ref, cur):
        # bins + range (not an edges array) keeps NumPy on its fast, sort-free path
        counts = np.histogram(np.clip(values, low, high), bins=HIST_BINS, range=(low, high))[0]
        out.append((counts / max(values.size, 1)).tolist())
    return out[0], out[1]


def _result_values(result: TestResult) -> dict[str, Any]:
    return {
        "method": result.method,
        "score": result.score,
        "threshold": result.threshold,
        "p_value": result.p_value,
        "statistic": result.statistic,
        "status": "drifted" if result.drifted else "ok",
    }


def _numeric_row(
    feature: Feature, ref: pl.Series, cur: pl.Series, settings: DriftSettings
) -> dict[str, Any]:
    r, c = (_finite(s) for s in (ref, cur))
    row = _row(feature, r.size, c.size)
    row.update(reference=_numeric_summary(r), current=_numeric_summary(c))
    if min(r.size, c.size) < settings.min_samples:
        return _missing_row(
            row,
            r.size / max(ref.len(), 1),
            c.size / max(cur.len(), 1),
            ref.len(),
            cur.len(),
            settings,
        )
    n_unique = pl.Series(np.concatenate([r, c])).n_unique()
    if effective_kind("numerical", n_unique) == "categorical" and not settings.methods.get(
        feature.name, settings.method
    ):
        categorical = replace(feature, kind="categorical")
        as_text = (pl.Series(r).cast(pl.String), pl.Series(c).cast(pl.String))
        out = _categorical_row(categorical, *as_text, settings)
        out["kind"] = feature.kind
        return out
    method = _numeric_method(settings.method_for(feature.name), n_unique) or default_method(
        "numerical", r.size, n_unique
    )
    result = numerical_test(r, c, method, settings.threshold_for(feature.name))
    hist_r, hist_c = _numeric_hists(r, c)
    row.update(_result_values(result), reference_hist=hist_r, current_hist=hist_c)
    return row


def _numeric_method(chosen: str | None, n_unique: int) -> str | None:
    """A requested method when it fits numbers: z needs two values, chi-squared few."""
    if chosen == "z" and n_unique != 2:
        return None
    if chosen == "chisquare" and n_unique > CHISQUARE_MAX_VALUES:
        return None
    return chosen


def _missing_row(
    row: dict[str, Any],
    ref_share: float,
    cur_share: float,
    ref_rows: int,
    cur_rows: int,
    settings: DriftSettings,
) -> dict[str, Any]:
    """Too few values in a window: insufficient data, unless the feature vanished or appeared.

    With enough spans on both sides, a feature set on most spans of one window and on
    few of the other has drifted (say, output tokens no longer reported).
    """
    if min(ref_rows, cur_rows) >= settings.min_samples and abs(ref_share - cur_share) >= 0.5:
        row.update(
            method="presence",
            score=abs(ref_share - cur_share),
            threshold=0.5,
            status="drifted",
            reference=f"set on {ref_share:.0%} of spans",
            current=f"set on {cur_share:.0%} of spans",
        )
    return row


def _finite(values: pl.Series) -> np.ndarray:
    """The values as sorted float64 without nulls, NaN or infinities (Evidently drops those).

    Sorted once here (Polars sorts in parallel), every later step reuses the order.
    """
    clean = values.drop_nulls().cast(pl.Float64)
    array: np.ndarray = clean.filter(clean.is_finite()).sort().to_numpy()
    return array


def _top(counts: dict[str, int], total: int, k: int = 3) -> str:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return ", ".join(f"{name} {count / total:.0%}" for name, count in ranked) if total else "-"


def _categorical_row(
    feature: Feature, ref: pl.Series, cur: pl.Series, settings: DriftSettings
) -> dict[str, Any]:
    ref_counts = dict(ref.fill_null(NONE_CATEGORY).value_counts().iter_rows())
    cur_counts = dict(cur.fill_null(NONE_CATEGORY).value_counts().iter_rows())
    categories = sorted(set(ref_counts) | set(cur_counts), key=lambda k: (-ref_counts.get(k, 0), k))
    r = np.array([ref_counts.get(k, 0) for k in categories], dtype=np.float64)
    c = np.array([cur_counts.get(k, 0) for k in categories], dtype=np.float64)
    row = _row(feature, int(r.sum()), int(c.sum()))
    row.update(reference=_top(ref_counts, int(r.sum())), current=_top(cur_counts, int(c.sum())))
    if min(r.sum(), c.sum()) < settings.min_samples or len(categories) < 2:
        if len(categories) == 1 and min(r.sum(), c.sum()) >= settings.min_samples:
            row.update(status="ok", method="constant", score=0.0)
        return row
    method = settings.method_for(feature.name, "categorical", len(categories)) or (
        default_method("categorical", int(r.sum()), len(categories))
    )
    result = categorical_test(r, c, method, settings.threshold_for(feature.name))
    top = min(len(categories), HIST_BINS)
    row.update(
        _result_values(result),
        reference_hist=(r[:top] / r.sum()).tolist(),
        current_hist=(c[:top] / c.sum()).tolist(),
    )
    return row


def _sample(frame: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    return frame.sample(n, seed=seed) if frame.height > n else frame


def _embedding_row(
    feature: Feature, ref: pl.DataFrame, cur: pl.DataFrame, settings: DriftSettings
) -> dict[str, Any]:
    vectors = []
    for frame in (ref, cur):
        column = frame.select(pl.col(feature.name)).drop_nulls()
        column = column.filter(pl.col(feature.name).list.len() > 0)
        vectors.append(_sample(column, settings.embedding_sample, settings.seed))
    n_ref, n_cur = ref.get_column(feature.name).count(), cur.get_column(feature.name).count()
    row = _row(feature, n_ref, n_cur)
    if min(vectors[0].height, vectors[1].height) < settings.min_samples:
        return row
    try:
        x, y = (v.get_column(feature.name).list.to_array(_dims(v, feature.name)) for v in vectors)
        r, c = x.to_numpy().astype(np.float64), y.to_numpy().astype(np.float64)
    except (pl.exceptions.PolarsError, ValueError):
        row["status"] = "insufficient data"
        row["reference"] = "vectors of different lengths"
        return row
    if r.shape[1] != c.shape[1]:
        row["reference"] = f"dimension {r.shape[1]} vs {c.shape[1]}"
        return row
    r, c = r[np.isfinite(r).all(axis=1)], c[np.isfinite(c).all(axis=1)]
    if min(r.shape[0], c.shape[0]) < settings.min_samples:
        row["reference"] = "too few vectors without NaN or infinite values"
        return row
    result = mmd_test(r, c, settings.permutations, settings.seed)
    chosen = settings.threshold_for(feature.name)
    threshold = DEFAULT_THRESHOLDS["ks"] if chosen is None else chosen
    cosine = centroid_cosine_distance(r, c)
    row.update(
        method="mmd",
        score=result.p_value,
        threshold=threshold,
        p_value=result.p_value,
        statistic=result.mmd2,
        status="drifted" if result.p_value < threshold else "ok",
        reference=f"{r.shape[0]} x {r.shape[1]} sampled",
        current=f"centroid cosine distance {cosine:.3g}",
    )
    return row


def _dims(frame: pl.DataFrame, column: str) -> int:
    lengths = frame.get_column(column).list.len().unique()
    if lengths.len() != 1:
        raise ValueError("ragged embeddings")
    return int(lengths.item())


def _text_series(
    feature: Feature, ref: pl.DataFrame, cur: pl.DataFrame, settings: DriftSettings
) -> tuple[pl.Series, pl.Series]:
    if not feature.name.endswith(".oov"):
        return ref.get_column(feature.name), cur.get_column(feature.name)
    column = TEXT_SOURCES[feature.name.split(".")[0]]
    texts = [
        _sample(frame.select(column).drop_nulls(), settings.text_sample, settings.seed)
        for frame in (ref, cur)
    ]
    return oov_shares(texts[0].get_column(column), texts[1].get_column(column))


def _apply_correction(rows: list[dict[str, Any]], correction: Correction) -> None:
    """Bonferroni: divide p-value thresholds by the number of p-value tests made."""
    tested = P_VALUE_METHODS | {"mmd", "binned-z", "binned-welch"}
    tests = [r for r in rows if r["method"] in tested and r["p_value"] is not None]
    if correction != "bonferroni" or len(tests) < 2:
        return
    for row in tests:
        row["threshold"] = row["threshold"] / len(tests)
        drifted = (
            row["p_value"] <= row["threshold"]
            if row["method"] == "ks"  # Evidently's KS drifts at p <= threshold
            else row["p_value"] < row["threshold"]
        )
        row["status"] = "drifted" if drifted else "ok"


def _resolve_attribute(
    feature: Feature, reference: pl.DataFrame, current: pl.DataFrame
) -> tuple[Feature, pl.DataFrame, pl.DataFrame]:
    """Decide from the reference's values whether an attribute is numerical; cast both.

    The reference decides, so the relative sizes of the windows cannot.
    """
    values = reference.get_column(feature.name)
    if values.drop_nulls().len() == 0:
        values = current.get_column(feature.name)
    if numeric_share(values) >= NUMERIC_ATTRIBUTE_SHARE:
        kind: FeatureKind = "numerical"
        cast = pl.col(feature.name).cast(pl.Float64, strict=False)
    else:
        kind = "categorical"
        cast = pl.col(feature.name).fill_null(NONE_CATEGORY)
    return (
        replace(feature, kind=kind),
        reference.with_columns(cast),
        current.with_columns(cast),
    )


def compare(
    model: str,
    reference: pl.DataFrame,
    current: pl.DataFrame,
    features: list[Feature],
    settings: DriftSettings,
) -> DriftReport:
    """Test every feature of ``reference`` against ``current`` (frames of :func:`feature_frame`)."""
    rows: list[dict[str, Any]] = []
    for declared in features:
        feature = declared
        if feature.kind == "attribute":
            feature, reference, current = _resolve_attribute(feature, reference, current)
        if feature.kind == "embedding":
            if (
                reference.get_column(feature.name).count()
                + current.get_column(feature.name).count()
                == 0
            ):
                continue  # a model without vectors: nothing to say
            rows.append(_embedding_row(feature, reference, current, settings))
            continue
        if feature.kind == "categorical":
            ref, cur = reference.get_column(feature.name), current.get_column(feature.name)
            if ref.drop_nulls().eq(NONE_CATEGORY).all() and cur.eq(NONE_CATEGORY).all():
                continue  # never set in either window: nothing to say
            rows.append(_categorical_row(feature, ref, cur, settings))
            continue
        ref, cur = (
            _text_series(feature, reference, current, settings)
            if feature.is_text
            else (reference.get_column(feature.name), current.get_column(feature.name))
        )
        if ref.null_count() == ref.len() and cur.null_count() == cur.len():
            continue
        rows.append(_numeric_row(feature, ref, cur, settings))
    for extra in concept_rows(reference, current, settings.concept, settings.min_samples):
        rows.append({**dict.fromkeys(ROW_SCHEMA), **extra})
    _apply_correction(rows, settings.correction)
    table = pl.DataFrame(rows, schema=ROW_SCHEMA)
    tested = sum(r["status"] in ("drifted", "ok") for r in rows)
    drifted = sum(r["status"] == "drifted" for r in rows)
    return DriftReport(
        model=model,
        features=table,
        verdict=verdict(drifted, tested, settings.drift_share),
        drifted=drifted,
        tested=tested,
        drift_share=settings.drift_share,
        correction=settings.correction,
        n_reference=reference.height,
        n_current=current.height,
    )


def compare_models(
    frames: list[pl.DataFrame], features: list[Feature], settings: DriftSettings
) -> list[DriftReport]:
    """:func:`compare` for each model of either window, in name order.

    ``frames`` holds the reference and current feature frames and is emptied: the windows
    are split into one frame per model once, and each model's frames are let go once
    compared, so the texts and vectors of the models done are freed before the next
    model's MMD kernel matrix is built (the peak of a ``drift --all-models`` run).
    """
    ref, cur = frames.pop(0), frames.pop(0)
    names = sorted(
        set(cur.get_column("model").drop_nulls()) | set(ref.get_column("model").drop_nulls())
    )
    empty = ref.clear(), cur.clear()
    refs = ref.partition_by("model", as_dict=True)
    curs = cur.partition_by("model", as_dict=True)
    del ref, cur  # only the partitions hold the rows now
    reports = []
    for name in names:
        r, c = refs.pop((name,), empty[0]), curs.pop((name,), empty[1])
        reports.append(compare(name, r, c, features, settings))
        del r, c
    return reports
