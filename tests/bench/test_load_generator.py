"""The load generator against a real OTLP receiver started here (``load_sink``).

Timing never decides a test: runs are capped by request counts, and assertions are on
counts, structure (what the sink received equals what the generator says it delivered),
ordering of percentiles and lower bounds that a delay guarantees.
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from load_sink import SinkState, grpc_sink, http_sink, json_pairs
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from ports import free_port

from pyflare_cli.bench.load import (
    LoadConfig,
    LoadConfigError,
    PayloadPool,
    Schedule,
    Stage,
    ThresholdError,
    build_pool,
    parse_duration,
    parse_rate,
    parse_stage,
    parse_threshold,
    protocol_for,
    run_load,
)
from pyflare_cli.bench.load.config import validate
from pyflare_cli.bench.load.payloads import Encoding, rebatch
from pyflare_cli.bench.load.report import sparkline
from pyflare_cli.bench.load.thresholds import evaluate
from pyflare_cli.bench.load.trace_ids import json_trace_id_offsets, proto_trace_id_offsets
from pyflare_cli.demo.generator import generate_requests

END = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
POOL_SPANS = 2_000  # seed 7 at END: has evaluation traces with span links (1,500 no longer)
BATCH = 100
ROOT = Path(__file__).resolve().parents[2]


def make_pool(encoding: Encoding = "protobuf", **kwargs: Any) -> PayloadPool:
    return build_pool(batch=BATCH, spans=POOL_SPANS, encoding=encoding, end=END, **kwargs)


@pytest.fixture(scope="module")
def pool() -> PayloadPool:
    return make_pool()


@pytest.fixture(scope="module")
def json_pool() -> PayloadPool:
    return make_pool("json")


def config(target: str, **kwargs: Any) -> LoadConfig:
    kwargs.setdefault("batch", BATCH)
    kwargs.setdefault("concurrency", 3)
    kwargs.setdefault("duration_s", 30.0)
    return LoadConfig(target=target, **kwargs)


def spans_of(request: ExportTraceServiceRequest) -> list[tuple[bytes, bytes, bytes]]:
    return [
        (rs.resource.SerializeToString(), span.trace_id, span.span_id)
        for rs in request.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]


# -- the pool ---------------------------------------------------------------------------


def test_rebatch_gives_exact_batches_and_keeps_every_span_with_its_resource() -> None:
    original = list(generate_requests(700, seed=3, end=END, days=1, batch_spans=250))
    batches = list(rebatch(original, 64))
    sizes = [len(spans_of(request)) for request in batches]
    assert all(size == 64 for size in sizes[:-1]) and 0 < sizes[-1] <= 64
    before = [span for request in original for span in spans_of(request)]
    after = [span for request in batches for span in spans_of(request)]
    assert after == before


def test_trace_id_offsets_cover_every_span_and_link(
    pool: PayloadPool, json_pool: PayloadPool
) -> None:
    links = 0
    for payload, json_payload in zip(pool.payloads, json_pool.payloads, strict=True):
        request = ExportTraceServiceRequest.FromString(payload.raw)
        expected = []
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    expected.append(span.trace_id)
                    expected.extend(link.trace_id for link in span.links)
                    links += len(span.links)
        offsets = proto_trace_id_offsets(payload.raw)
        assert [payload.raw[at : at + 16] for at in offsets] == expected
        hex_ids = [json_payload.raw[at : at + 32] for at in json_trace_id_offsets(json_payload.raw)]
        assert hex_ids == [tid.hex().encode() for tid in expected]
    assert links > 0, "the pool should exercise link trace ids"


def test_each_pass_rewrites_trace_id_prefixes_and_nothing_else(pool: PayloadPool) -> None:
    n = len(pool)
    first, second = (ExportTraceServiceRequest.FromString(pool.body(k)) for k in (1, 1 + n))
    original = ExportTraceServiceRequest.FromString(pool.payloads[1].raw)
    prefixes = set()
    for request in (first, second):
        ids = [
            span.trace_id
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]
        assert len({tid[:8] for tid in ids}) == 1
        prefixes.add(ids[0][:8])
        for rs_new, rs_old in zip(request.resource_spans, original.resource_spans, strict=True):
            for ss_new, ss_old in zip(rs_new.scope_spans, rs_old.scope_spans, strict=True):
                for new, old in zip(ss_new.spans, ss_old.spans, strict=True):
                    assert new.trace_id[8:] == old.trace_id[8:]
                    new.trace_id = old.trace_id
                    for link_new, link_old in zip(new.links, old.links, strict=True):
                        link_new.trace_id = link_old.trace_id
        assert request == original
    assert len(prefixes) == 2


def test_json_pool_rewrites_hex_trace_ids(json_pool: PayloadPool) -> None:
    n = len(json_pool)
    first, second = (json_pairs(json_pool.body(k)) for k in (0, n))
    assert len(first) == json_pool.payloads[0].spans
    assert [span for _, span in first] == [span for _, span in second]
    assert {trace[:16] for trace, _ in first}.isdisjoint({trace[:16] for trace, _ in second})
    assert [t[16:] for t, _ in first] == [t[16:] for t, _ in second]


def test_without_unique_ids_the_same_bodies_are_resent() -> None:
    fixed = make_pool(unique_ids=False, gzip=True)
    assert fixed.body(0) is fixed.body(len(fixed)) is fixed.payloads[0].body
    assert gzip.decompress(fixed.body(0)) == fixed.payloads[0].raw


def test_schedule_counts_sends_by_spans(pool: PayloadPool) -> None:
    for spans in (0, 1, 99, 100, 101, 1_499, 1_500, 1_503, 1_504, 4_000, 4_510.5):
        expected = sum(1 for k in range(200) if pool.spans_before(k) < spans)
        assert pool.sends_before(spans) == expected


# -- the schedule of an open-model run (no network) --------------------------------------


def test_ramp_up_from_zero_is_quadratic() -> None:
    # 0 -> 100 spans/s over 10 s: S(t) = 5 t^2, so S reaches s at sqrt(s / 5).
    schedule = Schedule.of_stages([Stage(10, 100)])
    assert schedule.total_s == 10 and schedule.total_spans == 500
    assert [schedule.time_of(s) for s in (0, 5, 20, 45, 125, 320)] == pytest.approx(
        [0, 1, 2, 3, 5, 8]
    )
    assert schedule.spans_at(2) == pytest.approx(20) and schedule.rate_at(5) == pytest.approx(50)
    assert schedule.time_of(499.999) == pytest.approx(10, abs=1e-4)
    assert schedule.time_of(500) is None and schedule.time_of(10_000) is None


def test_steady_spike_and_ramp_down_invert_exactly() -> None:
    schedule = Schedule.of_stages(
        [
            Stage(2, 100),  # ramp up: 100 spans, ends at t=2
            Stage(3, 100),  # steady: 300 spans, t in [2, 5)
            Stage(1, 1000),  # spike 100 -> 1000: 550 spans, t in [5, 6)
            Stage(2, 0),  # ramp down 1000 -> 0: 1000 spans, t in [6, 8)
        ]
    )
    assert schedule.total_s == 8 and schedule.total_spans == 100 + 300 + 550 + 1000
    # Steady: 100 spans/s after 100 spans.
    assert schedule.time_of(100) == pytest.approx(2)
    assert schedule.time_of(250) == pytest.approx(3.5)
    # Spike: 100 tau + 450 tau^2 spans after 400; tau = 0.5 -> 162.5 spans.
    assert schedule.time_of(400) == pytest.approx(5)
    assert schedule.time_of(400 + 162.5) == pytest.approx(5.5)
    assert schedule.rate_at(5.5) == pytest.approx(550)
    # Ramp down: 1000 tau - 250 tau^2 after 950; tau = 1 -> 750 spans.
    assert schedule.time_of(950 + 750) == pytest.approx(7)
    assert schedule.rate_at(7) == pytest.approx(500)
    assert schedule.time_of(1949.0) == pytest.approx(8 - (1 / 250) ** 0.5, abs=1e-9)
    assert schedule.time_of(1950) is None
    assert schedule.per_second(8) == pytest.approx([25, 75, 100, 100, 100, 550, 750, 250])
    assert schedule.peak_rate == 1000


def test_zero_rate_stages_send_nothing_until_the_rate_rises() -> None:
    schedule = Schedule.of_stages(
        [
            Stage(2, 0),  # a leading pause
            Stage(1, 100),  # 0 -> 100: 50 spans, t in [2, 3)
            Stage(1, 0),  # 100 -> 0: 50 spans, t in [3, 4)
            Stage(2, 0),  # a pause in the middle, t in [4, 6)
            Stage(1, 100),  # 0 -> 100: 50 spans, t in [6, 7)
        ]
    )
    assert schedule.total_spans == 150
    assert schedule.time_of(0) == pytest.approx(2)  # the first send waits for the ramp
    assert schedule.time_of(12.5) == pytest.approx(2.5)
    assert schedule.time_of(50) == pytest.approx(3)
    assert schedule.time_of(50 + 37.5) == pytest.approx(3.5)
    # Exactly the spans offered before the middle pause: due when it ends, not at its start.
    assert schedule.time_of(100) == pytest.approx(6)
    assert schedule.time_of(112.5) == pytest.approx(6.5)
    assert [schedule.rate_at(t) for t in (1, 4.5, 5.9)] == [0, 0, 0]
    assert schedule.per_second(7) == pytest.approx([0, 0, 50, 50, 0, 0, 50])


def test_a_constant_rate_is_spans_over_rate_bit_for_bit() -> None:
    schedule = Schedule.constant(1_234.5, 3.0)
    for spans in (0, 1, 99, 512, 1_000, 3_703.4):
        assert schedule.time_of(spans) == spans / 1_234.5
    assert schedule.time_of(3 * 1_234.5) is None
    # Past the end the window extends at the same rate (the next unsent slot's due time).
    assert schedule.window_end(3 * 1_234.5 + 1_234.5) == pytest.approx(4.0)
    assert Schedule.of_stages([Stage(1, 100), Stage(1, 0)]).window_end(1e9) == 2


def test_schedule_inverse_round_trips_on_random_stages() -> None:
    rng = random.Random(11)
    for _ in range(50):
        stages = [
            Stage(rng.choice([0.25, 1.0, 3.0, 7.5]), rng.choice([0, 0, 10, 1e3, 5e4, 2e5]))
            for _ in range(rng.randint(1, 6))
        ]
        if all(stage.target_rate == 0 for stage in stages):
            continue
        schedule = Schedule.of_stages(stages)
        previous = 0.0
        for i in range(200):
            spans = schedule.total_spans * i / 200
            t = schedule.time_of(spans)
            assert t is not None and previous <= t < schedule.total_s
            assert schedule.spans_at(t) == pytest.approx(spans, rel=1e-9, abs=1e-6)
            # Never inside a zero-rate stretch: at most where the rate starts to rise.
            assert schedule.rate_at(t) > 0 or schedule.rate_at(t + 1e-9) > 0
            previous = t


def test_due_sends_and_the_due_count_use_one_rule(pool: PayloadPool) -> None:
    # 0.5 s to 2k spans/s, 0.5 s down to 0: 1,000 spans, ten 100-span sends due.
    config = LoadConfig(stages=(Stage(0.5, 2_000), Stage(0.5, 0)), duration_s=None)
    schedule = config.schedule()
    assert schedule is not None and config.mode == "rate" and config.limit_s == 1.0
    due = [schedule.time_of(pool.spans_before(k)) for k in range(40)]
    assert sum(t is not None for t in due) == pool.sends_before(schedule.total_spans) == 10
    assert due[:10] == sorted(due[:10]) and due[10:] == [None] * 30
    assert due[0] == 0 and due[1] == pytest.approx((2 * 100 / 4_000) ** 0.5)


def test_stage_and_option_text_parse() -> None:
    assert parse_stage("10s:1k") == Stage(10.0, 1_000.0)
    assert parse_stage("500ms:2.5k") == Stage(0.5, 2_500.0)
    assert parse_stage("2m:0") == Stage(120.0, 0.0)
    assert parse_duration("1.5") == 1.5 and parse_rate("1m") == 1e6
    assert [s.describe() for s in map(parse_stage, ("10s:1k", "0.5s:1500", "1m:1.5m"))] == [
        "10s:1k",
        "0.5s:1.5k",
        "60s:1.5m",
    ]
    for bad in ("10s", "10s:", ":1k", "10x:1k", "10s:fast", "-1s:1k", "10s:-5"):
        with pytest.raises(LoadConfigError, match="--stage"):
            parse_stage(bad)
    for unbounded in ("inf", "forever", "none"):
        with pytest.raises(LoadConfigError, match="unbounded"):
            parse_duration(unbounded)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rate": 1_000.0}, "exclusive"),
        ({"stages": (Stage(0.0, 10.0),)}, "above 0"),
        ({"stages": (Stage(float("inf"), 10.0),)}, "above 0"),
        ({"stages": (Stage(1.0, -1.0),)}, "rate must be 0 or"),
        ({"stages": (Stage(1.0, float("nan")),)}, "rate must be 0 or"),
        ({"stages": (Stage(1.0, 0.0), Stage(2.0, 0.0))}, "nothing would be sent"),
        ({"stages": (Stage(400.0, 10.0), Stage(201.0, 0.0))}, "at most 600"),
        ({"stages": (Stage(1.0, 10.0),) * 101}, "at most 100"),
        ({"duration_s": 10.0}, "the stages set the duration"),
    ],
)
def test_refuses_bad_stages(changes: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "target": "http://127.0.0.1:1/v1/traces",
        "stages": (Stage(1.0, 100.0),),
        "duration_s": None,
    }
    with pytest.raises(LoadConfigError, match=message):
        run_load(LoadConfig(**{**base, **changes}))


def test_stages_bound_the_run_without_a_duration() -> None:
    stages = (Stage(10.0, 1_000.0), Stage(30.0, 5_000.0), Stage(5.0, 20_000.0), Stage(10, 0))
    config = LoadConfig(stages=stages, duration_s=None)
    validate(config)
    assert config.limit_s == 55.0 and config.mode == "rate"
    validate(LoadConfig(stages=stages, duration_s=55.0))  # the same duration is accepted
    validate(LoadConfig(stages=stages, duration_s=None, requests=10))


def test_grpc_url_targets() -> None:
    assert protocol_for("grpc://127.0.0.1:4317", None) == "grpc"
    assert protocol_for("GRPCS://localhost:4317", None) == "grpc"
    assert protocol_for("http://127.0.0.1:4318", None) == "http-protobuf"
    assert protocol_for("127.0.0.1:4317", None) == "http-protobuf"
    assert protocol_for("grpc://127.0.0.1:4317", "http-json") == "http-json"
    target = validate(LoadConfig(target="grpc://127.0.0.1:4317", protocol="grpc"))
    assert (target.address, target.secure, target.loopback) == ("127.0.0.1:4317", False, True)
    secure = validate(LoadConfig(target="grpcs://[::1]", protocol="grpc"))
    assert (secure.address, secure.secure) == ("[::1]:443", True)
    with pytest.raises(LoadConfigError, match="--protocol grpc"):
        validate(LoadConfig(target="grpc://127.0.0.1:4317"))
    with pytest.raises(LoadConfigError, match="without a path"):
        validate(LoadConfig(target="grpc://127.0.0.1:4317/v1/traces", protocol="grpc"))
    with pytest.raises(LoadConfigError, match="--allow-remote"):
        validate(LoadConfig(target="grpc://192.0.2.7:4317", protocol="grpc"))


# -- runs against a real receiver -------------------------------------------------------


def test_max_run_delivers_every_span_once(pool: PayloadPool) -> None:
    requests = 2 * len(pool) + 3
    with http_sink() as (url, sink):
        result = run_load(
            config(
                url,
                requests=requests,
                thresholds=(parse_threshold("p99<60s"), parse_threshold("errors<1%")),
            ),
            pool,
        )
    assert result.sent_requests == result.acked_requests == requests == sink.requests
    expected_spans = sum(pool.spans_of(k) for k in range(requests))
    assert result.sent_spans == result.accepted_spans == sink.spans == expected_spans
    assert sink.duplicates == 0 and len(sink.ids) == expected_spans
    assert result.rejected == {} and result.transport_errors == {}
    assert sum(result.per_second_spans) == result.accepted_spans
    latency = result.latency
    assert latency is not None and latency.count == requests
    assert 0 < latency.p50_ms <= latency.p90_ms <= latency.p99_ms <= latency.max_ms
    assert result.spans_per_s > 0 and result.cpu.percent >= 0
    assert result.mode == "max" and result.due_requests is None and result.schedule_lag is None
    assert [v.passed for v in result.verdicts] == [True, True] and result.passed
    assert sink.content_types == {"application/x-protobuf"} and sink.encodings == {""}


def test_without_unique_ids_a_receiver_sees_duplicates() -> None:
    fixed = make_pool(unique_ids=False)
    with http_sink() as (url, sink):
        run_load(config(url, requests=len(fixed) + 1, unique_ids=False), fixed)
    assert sink.duplicates == fixed.payloads[0].spans


@pytest.mark.parametrize("status", [429, 503, 400])
def test_status_rejections_are_counted_and_fail_gates(pool: PayloadPool, status: int) -> None:
    gates = ("errors<1%", "p99<10s", "rejected<=5", "spans_per_s>0")
    with http_sink(SinkState(status=status)) as (url, _):
        result = run_load(
            config(url, requests=5, thresholds=tuple(map(parse_threshold, gates))), pool
        )
    assert result.rejected == {f"http {status}": 5} and result.acked_requests == 0
    assert result.accepted_spans == 0 and result.latency is None
    assert result.error_rate_pct == 100.0
    assert [(v.expression, v.passed) for v in result.verdicts] == [
        ("errors<1%", False),
        ("p99<10s", False),  # unmeasured: no acknowledged request
        ("rejected<=5", True),
        ("spans_per_s>0", False),
    ]
    assert not result.passed
    assert sum(result.per_second_failed) == 5


@pytest.mark.parametrize("protocol", ["http-protobuf", "http-json"])
def test_partial_success_is_read(pool: PayloadPool, json_pool: PayloadPool, protocol: str) -> None:
    chosen = json_pool if protocol == "http-json" else pool
    with http_sink(SinkState(partial_reject=7)) as (url, _):
        result = run_load(config(url, protocol=protocol, requests=4), chosen)
    assert result.acked_requests == 4
    assert result.partial_rejected_spans == 28
    assert result.accepted_spans == result.sent_spans - 28
    assert result.partial_messages == {"over quota": 4}
    assert result.metrics()["partial"] == 28.0


def test_delay_shows_in_latency(pool: PayloadPool) -> None:
    with http_sink(SinkState(delay_s=0.05)) as (url, _):
        result = run_load(config(url, requests=6, concurrency=2), pool)
    assert result.latency is not None
    assert result.latency.p50_ms >= 50.0  # a lower bound the sink guarantees


def test_rate_mode_never_sends_ahead_of_the_schedule(pool: PayloadPool) -> None:
    # 1,000 spans/s of 100-span requests: one send due every 0.1 s, 5 in 0.5 s.
    with http_sink() as (url, sink):
        result = run_load(config(url, rate=1_000, duration_s=0.5), pool)
    assert result.mode == "rate" and result.due_requests == 5
    assert result.duration_s >= 0.5  # the window runs to the end of the schedule
    assert result.sent_requests + result.behind_schedule == 5
    assert sink.requests == result.sent_requests <= 5
    assert result.latency and result.service_latency and result.schedule_lag
    assert result.latency.max_ms >= result.service_latency.max_ms


def test_rate_mode_measures_latency_from_the_schedule(pool: PayloadPool) -> None:
    # One client, a 0.2 s receiver and a send due every 0.05 s: sends queue up. Latency
    # counts the queueing (open model), the service time does not, and the sends that never
    # started are reported instead of silently dropped.
    with http_sink(SinkState(delay_s=0.2)) as (url, _):
        result = run_load(config(url, rate=2_000, duration_s=0.5, concurrency=1), pool)
    assert result.due_requests == 10
    assert 1 <= result.sent_requests <= 3
    assert result.behind_schedule == 10 - result.sent_requests
    assert result.latency is not None and result.service_latency is not None
    assert result.latency.max_ms > result.service_latency.max_ms >= 200.0
    assert parse_threshold("behind<1%").holds(result.metrics()["behind_pct"]) is False


@pytest.mark.parametrize("protocol", ["http-protobuf", "http-json"])
def test_gzip_bodies_arrive_intact(protocol: str) -> None:
    encoding: Encoding = "json" if protocol == "http-json" else "protobuf"
    zipped = make_pool(encoding, gzip=True)
    assert zipped.heavy_per_send
    requests = len(zipped) + 2
    with http_sink() as (url, sink):
        result = run_load(config(url, protocol=protocol, gzip=True, requests=requests), zipped)
    assert sink.encodings == {"gzip"}
    assert result.accepted_spans == sink.spans == len(sink.ids) == result.sent_spans
    raw = sum(len(zipped.payloads[k % len(zipped)].raw) for k in range(requests))
    assert result.sent_bytes < raw / 3


def test_stages_run_on_their_schedule(pool: PayloadPool) -> None:
    # 0 -> 2k spans/s over 0.5 s, then down to 0: 1,000 spans in ten 100-span sends.
    stages = (Stage(0.5, 2_000.0), Stage(0.5, 0.0))
    with http_sink() as (url, sink):
        result = run_load(config(url, stages=stages, duration_s=None), pool)
    assert result.mode == "rate" and result.rate_spans_per_s is None
    assert result.stages == stages and result.due_requests == 10
    assert result.sent_requests + result.behind_schedule == 10
    assert sink.requests == result.sent_requests and result.duration_s >= 1.0
    assert result.per_second_offered == [1_000, 0]
    assert result.schedule_lag is not None
    doc = result.to_dict()
    assert doc["stages"] == [
        {"duration_s": 0.5, "target_rate": 2_000.0},
        {"duration_s": 0.5, "target_rate": 0.0},
    ]
    json.dumps(doc)


def test_grpc_delivers_and_counts_status_codes(pool: PayloadPool) -> None:
    with grpc_sink() as (address, sink):
        result = run_load(config(address, protocol="grpc", requests=len(pool) + 4), pool)
        assert result.accepted_spans == sink.spans == len(sink.ids) == result.sent_spans
        assert result.acked_requests == len(pool) + 4 and result.latency is not None
        sink.grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
        refused = run_load(config(address, protocol="grpc", requests=3, gzip=True), pool)
    assert refused.rejected == {"grpc RESOURCE_EXHAUSTED": 3}
    assert refused.acked_requests == 0


def test_transport_errors_when_nothing_listens(pool: PayloadPool) -> None:
    result = run_load(config(f"http://127.0.0.1:{free_port()}", requests=3), pool)
    assert result.sent_requests == 3 and result.acked_requests == 0
    assert result.transport_errors == {"ConnectError": 3}
    assert result.metrics()["transport"] == 3.0


# -- refusals and gates -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"duration_s": None, "requests": None}, "unbounded"),
        ({"duration_s": 601.0}, "at most 600"),
        ({"duration_s": 0.0}, "above 0"),
        ({"requests": 0}, "at least 1"),
        ({"rate": 0.0}, "positive"),
        ({"rate": float("inf")}, "positive"),
        ({"concurrency": 0}, "between"),
        ({"batch": 0}, "between"),
        ({"target": "http://192.0.2.7:4318"}, "--allow-remote"),
        ({"target": "http://example.com:4318/v1/traces"}, "--allow-remote"),
        ({"target": "ftp://127.0.0.1/"}, "http://"),
        ({"target": "127.0.0.1:4317/x", "protocol": "grpc"}, "without a path"),
    ],
)
def test_refuses_unbounded_runs_out_of_range_options_and_foreign_targets(
    changes: dict[str, Any], message: str
) -> None:
    base: dict[str, Any] = {"target": "http://127.0.0.1:1/v1/traces", "requests": 1}
    with pytest.raises(LoadConfigError, match=message):
        run_load(LoadConfig(**{**base, **changes}))


def test_targets_resolve_to_loopback_defaults_and_allow_remote() -> None:
    assert validate(LoadConfig()).address == "http://127.0.0.1:4318/v1/traces"
    assert validate(LoadConfig(protocol="grpc")).address == "127.0.0.1:4317"
    assert validate(LoadConfig(target="http://[::1]:9/")).address == "http://[::1]:9/v1/traces"
    assert validate(LoadConfig(target="localhost:55", protocol="grpc")).address == "localhost:55"
    remote = validate(LoadConfig(target="http://192.0.2.7:4318", allow_remote=True))
    assert not remote.loopback
    # Only a requests cap: bounded by it, and by the hard wall-clock limit.
    assert LoadConfig(duration_s=None, requests=5).limit_s == 600.0


def test_thresholds_parse_and_evaluate() -> None:
    parsed = [
        parse_threshold(text)
        for text in ("p99<50ms", "P50 <= 0.2s", "max<900us", "errors<1%", "errors<=3")
    ]
    assert [(t.key, t.op, t.limit) for t in parsed] == [
        ("p99_ms", "<", 50.0),
        ("p50_ms", "<=", 200.0),
        ("max_ms", "<", 0.9),
        ("errors_pct", "<", 1.0),
        ("errors", "<=", 3.0),
    ]
    assert parse_threshold("throughput>=20k").limit == 20_000.0
    metrics = {"p99_ms": 49.0, "p50_ms": 250.0, "errors_pct": None, "errors": 3.0}
    verdicts = evaluate(tuple(parsed), metrics)
    assert [v.passed for v in verdicts] == [True, False, False, False, True]
    for bad in ("p99", "p99<fast", "latency<5ms", "p99<5%", "errors<5ms", "spans_per_s>5ms"):
        with pytest.raises(ThresholdError):
            parse_threshold(bad)


def test_sparkline_scales_and_resamples() -> None:
    assert sparkline([0, 5, 10]) == "▁▅█"
    assert len(sparkline(list(range(600)))) == 60
    assert sparkline([]) == "" and sparkline([0, 0]) == "▁▁"
    assert sparkline([5, 10], top=20) == "▃▅"  # a shared scale for two series
