"""Head sampling: per-trace decisions from the trace id, rules, error traces, and its config."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.config.sampling import parse_sampling
from pyflare_cli.ingest.sampling import (
    RANDOM_RANGE,
    SamplingConfig,
    SamplingRule,
    apply_sampling,
    sampling_summary,
    trace_randomness,
)
from pyflare_cli.schema import POLARS_SCHEMA

MakeSpans = Callable[..., pl.DataFrame]
T0 = datetime(2025, 3, 2, 12, tzinfo=UTC)
HALF = RANDOM_RANGE // 2


def tid(r: int, head: str = "5759e988bd862e3f12") -> str:
    """A 32-hex trace id whose randomness (last 14 hex digits) is ``r``."""
    return f"{head}{r:014x}"


def span(trace_id: str, span_id: str, parent: str | None = None, **columns: Any) -> dict[str, Any]:
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "start_time": T0,
        **columns,
    }


def kept_traces(frame: pl.DataFrame) -> set[str]:
    return set(frame.get_column("trace_id").to_list())


def only_rules(*rules: SamplingRule, ratio: float = 1.0) -> SamplingConfig:
    return SamplingConfig(ratio=ratio, keep_errors=False, rules=rules)


# --- the decision from the trace id ---------------------------------------------------


def test_randomness_is_the_last_14_hex_digits() -> None:
    frame = pl.DataFrame(
        {
            "trace_id": [
                "0af7651916cd43dd8448eb211c80319c",
                "0AF7651916CD43DD8448EB211C80319C",
                tid(0),
                tid(RANDOM_RANGE - 1),
                "not-a-hex-trace-id",
                "abc",
                None,
            ]
        }
    )
    assert frame.select(trace_randomness()).to_series().to_list() == [
        0x48EB211C80319C,
        0x48EB211C80319C,
        0,
        RANDOM_RANGE - 1,
        None,
        None,
        None,
    ]


def test_known_ids_at_the_half_boundary(make_spans: MakeSpans) -> None:
    ids = [tid(0), tid(HALF - 1), tid(HALF), tid(RANDOM_RANGE - 1)]
    frame = make_spans(*(span(t, f"s{i}") for i, t in enumerate(ids)))
    kept = apply_sampling(frame, SamplingConfig(ratio=0.5))
    assert kept_traces(kept) == {tid(HALF), tid(RANDOM_RANGE - 1)}
    # 10%: kept when R >= 2**56 - round(0.1 * 2**56)
    bound = RANDOM_RANGE - round(0.1 * RANDOM_RANGE)
    frame = make_spans(span(tid(bound - 1), "a"), span(tid(bound), "b"))
    assert kept_traces(apply_sampling(frame, SamplingConfig(ratio=0.1))) == {tid(bound)}


def test_leading_digits_do_not_matter(make_spans: MakeSpans) -> None:
    # X-Ray ids start with the epoch second: the same 8 leading digits for a whole second.
    low, high = tid(1, head="67c4480000000000ab"), tid(RANDOM_RANGE - 2, head="67c4480000000000ab")
    frame = make_spans(span(low, "a"), span(high, "b"))
    assert kept_traces(apply_sampling(frame, SamplingConfig(ratio=0.5))) == {high}


@pytest.mark.parametrize("ratio", [0, 0.0])
def test_ratio_zero_drops_everything(make_spans: MakeSpans, ratio: float) -> None:
    frame = make_spans(span(tid(RANDOM_RANGE - 1), "a"), span("not-hex", "b"))
    out = apply_sampling(frame, SamplingConfig(ratio=ratio))
    assert_frame_equal(out, frame.clear())


def test_ratio_one_keeps_everything(make_spans: MakeSpans) -> None:
    frame = make_spans(span(tid(0), "a"), span(tid(0), "b", "a"), span("not-hex", "c"))
    assert_frame_equal(apply_sampling(frame, SamplingConfig(ratio=1)), frame)
    rules = only_rules(SamplingRule(ratio=1, name="*"), ratio=0)
    assert_frame_equal(apply_sampling(frame, rules), frame)


def test_ids_without_randomness_are_kept_unless_ratio_is_zero(make_spans: MakeSpans) -> None:
    frame = make_spans(span("not-hex", "a"), span("abc", "b"), span(tid(0), "c"))
    assert kept_traces(apply_sampling(frame, SamplingConfig(ratio=0.01))) == {"not-hex", "abc"}


def test_kept_share_is_the_ratio_and_is_monotone() -> None:
    rng = random.Random(7)
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(4000)]
    # Only the columns a rule-less config reads.
    columns = ("trace_id", "parent_span_id", "status_code")
    frame = pl.DataFrame(
        {"trace_id": ids, "parent_span_id": None, "status_code": "unset"},
        schema={c: POLARS_SCHEMA[c] for c in columns},
    )
    kept = {r: kept_traces(apply_sampling(frame, SamplingConfig(ratio=r))) for r in (0.1, 0.5)}
    assert 0.08 < len(kept[0.1]) / len(ids) < 0.12
    assert 0.46 < len(kept[0.5]) / len(ids) < 0.54
    assert kept[0.1] <= kept[0.5]


def test_same_decision_for_a_trace_across_batches(make_spans: MakeSpans) -> None:
    rng = random.Random(11)
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(200)]
    config = SamplingConfig(ratio=0.3)
    first = make_spans(*(s for t in ids for s in (span(t, "root"), span(t, "a", "root"))))
    # Later batch: only children of the same traces, in another order.
    second = make_spans(*(span(t, "b", "a") for t in reversed(ids)))
    kept_first = kept_traces(apply_sampling(first, config))
    assert kept_first == kept_traces(apply_sampling(second, config))
    assert 0 < len(kept_first) < len(ids)


def test_keeps_order_and_schema(make_spans: MakeSpans) -> None:
    keep, drop = tid(RANDOM_RANGE - 1), tid(0)
    frame = make_spans(
        span(keep, "1"),
        span(drop, "2"),
        span(keep, "3", "1"),
        span(drop, "4", "2"),
        span(keep, "5"),
    )
    out = apply_sampling(frame, SamplingConfig(ratio=0.5))
    assert_frame_equal(out, frame.filter(pl.col("trace_id") == keep))
    assert out.get_column("span_id").to_list() == ["1", "3", "5"]


def test_empty_frame(make_spans: MakeSpans) -> None:
    empty = make_spans()
    assert_frame_equal(apply_sampling(empty, SamplingConfig(ratio=0)), empty)


# --- rules ----------------------------------------------------------------------------

LOW = tid(1)  # kept only at ratio 1
MID = tid(HALF)  # kept at ratio >= 0.5


def test_first_matching_rule_wins(make_spans: MakeSpans) -> None:
    frame = make_spans(span(LOW, "a", service_name="chat-gateway", name="llm.call"))
    by_service = SamplingRule(ratio=0, service="chat-*")
    by_name = SamplingRule(ratio=1, name="llm.*")
    assert apply_sampling(frame, only_rules(by_service, by_name)).is_empty()
    assert_frame_equal(apply_sampling(frame, only_rules(by_name, by_service)), frame)


@pytest.mark.parametrize(
    ("rule", "value", "matches"),
    [
        (SamplingRule(ratio=0, service="chat-*"), "chat-gateway", True),
        (SamplingRule(ratio=0, service="chat-*"), "CHAT-API", True),  # case-insensitive
        (SamplingRule(ratio=0, service="chat-*"), "my-chat-api", False),  # anchored
        (SamplingRule(ratio=0, service="chat"), "chat-gateway", False),
        (SamplingRule(ratio=0, name="GET /users/?"), "GET /users/7", True),
        (SamplingRule(ratio=0, name="GET /users/?"), "GET /users/42", False),
        (SamplingRule(ratio=0, name="a.b (v1)+"), "a.b (v1)+", True),  # metacharacters
        (SamplingRule(ratio=0, name="a.b (v1)+"), "axb v1", False),
        (SamplingRule(ratio=0, name="GET /healthz"), "GET /healthz", True),
    ],
)
def test_service_and_name_globs(
    make_spans: MakeSpans, rule: SamplingRule, value: str, matches: bool
) -> None:
    column = "service_name" if rule.service is not None else "name"
    frame = make_spans(span(MID, "a", **{column: value}))
    # The rule drops what it matches; everything else is kept by the default ratio.
    assert apply_sampling(frame, only_rules(rule)).is_empty() is matches


def test_null_columns_match_no_rule(make_spans: MakeSpans) -> None:
    frame = make_spans(span(MID, "a", service_name=None))
    assert_frame_equal(apply_sampling(frame, only_rules(SamplingRule(0, service="*"))), frame)


def test_attribute_rules(make_spans: MakeSpans) -> None:
    rule = SamplingRule(
        ratio=0,
        attributes=(("http.route", "/health*"), ("deployment.environment.name", "staging")),
    )
    rows = {
        "both": ({"http.route": "/healthz", "deployment.environment.name": "staging"}, {}),
        "resource": ({"http.route": "/healthz"}, {"deployment.environment.name": "Staging"}),
        "one key": ({"http.route": "/healthz"}, {}),
        "other value": ({"http.route": "/chat", "deployment.environment.name": "staging"}, {}),
        "none": ({}, {}),
    }
    frame = make_spans(
        *(
            span(
                tid(HALF + i, head=f"{i:018x}"),
                name,
                name=name,
                attributes=a,
                resource_attributes=r,
            )
            for i, (name, (a, r)) in enumerate(rows.items())
        )
    )
    kept = apply_sampling(frame, only_rules(rule))
    assert kept.get_column("name").to_list() == ["one key", "other value", "none"]


def test_attribute_values_as_stored(make_spans: MakeSpans) -> None:
    config = parse_sampling(
        {"rules": [{"attributes": {"http.response.status_code": 503, "retry": True}, "ratio": 0}]},
        "pyflare.yaml",
    )
    assert config is not None
    frame = make_spans(
        span(MID, "a", attributes={"http.response.status_code": "503", "retry": "true"}),
        span(tid(HALF + 1), "b", attributes={"http.response.status_code": "200", "retry": "true"}),
    )
    assert apply_sampling(frame, config).get_column("span_id").to_list() == ["b"]


def test_root_rule_decides_the_trace(make_spans: MakeSpans) -> None:
    # The health check's root is dropped by its rule; its children (default ratio) go with it.
    frame = make_spans(
        span(LOW, "root", name="GET /healthz"),
        span(LOW, "db", "root", name="SELECT 1"),
        span(MID, "root2", name="POST /chat"),
        span(MID, "llm", "root2", name="chat gpt-4o"),
    )
    config = only_rules(SamplingRule(ratio=0, name="GET /healthz"), ratio=1)
    assert kept_traces(apply_sampling(frame, config)) == {MID}
    # A low-ratio root is not rescued by a child with a higher ratio.
    config = only_rules(SamplingRule(ratio=1, name="chat *"), ratio=0.1)
    assert kept_traces(apply_sampling(frame, config)) == set()


def test_without_its_root_a_trace_takes_the_largest_ratio(make_spans: MakeSpans) -> None:
    fragment = make_spans(
        span(MID, "a", "root", name="retrieve"),
        span(MID, "b", "root", name="chat gpt-4o"),
    )
    drop_retrieval = only_rules(SamplingRule(ratio=0, name="retrieve"), ratio=1)
    assert_frame_equal(apply_sampling(fragment, drop_retrieval), fragment)
    keep_llm = only_rules(SamplingRule(ratio=0.5, name="chat *"), ratio=0)
    assert_frame_equal(apply_sampling(fragment, keep_llm), fragment)


# --- error traces ---------------------------------------------------------------------


def test_keep_errors(make_spans: MakeSpans) -> None:
    failing, fine = tid(0), tid(1)
    frame = make_spans(
        span(failing, "r"),
        span(failing, "c", "r", status_code="error"),
        span(fine, "r2"),
        span(fine, "c2", "r2", status_code="ok"),
    )
    kept = apply_sampling(frame, SamplingConfig(ratio=0, keep_errors=True))
    assert_frame_equal(kept, frame.filter(pl.col("trace_id") == failing))
    assert apply_sampling(frame, SamplingConfig(ratio=0, keep_errors=False)).is_empty()


# --- config ---------------------------------------------------------------------------


def test_summary() -> None:
    assert sampling_summary(1000, 120) == "sampling kept 120 of 1,000 spans (12.0%)"
    assert sampling_summary(0, 0) == "sampling kept 0 of 0 spans"
