"""Silences, maintenance windows and inhibition: what mutes a notification, and why."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pyflare_cli.alerting.silences import (
    DEFAULT_INHIBIT,
    InhibitRule,
    MaintenanceWindow,
    Matcher,
    Mute,
    Silence,
    SilenceStore,
    inhibited,
    muted,
    parse_inhibit_rules,
    parse_maintenance,
    parse_matcher,
    parse_matchers,
)
from pyflare_cli.errors import StoreWriteError, UsageError

NOW = datetime(2025, 5, 10, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def m(text: str) -> Matcher:
    return parse_matcher(text)


def silence(*matchers: str, start: datetime = NOW, end: datetime = NOW + HOUR) -> Silence:
    return Silence(
        id="abcd1234",
        matchers=parse_matchers(matchers),
        starts_at=start,
        ends_at=end,
        created_by="ana",
        comment="deploy",
        created_at=NOW,
    )


# --- matchers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("model=gpt-4o", "gpt-4o", True),
        ("model=gpt-4o", "gpt-4o-mini", False),
        ("model!=gpt-4o", "gpt-4o", False),
        ("model!=gpt-4o", "gpt-4o-mini", True),
        ("model=~gpt-4.*", "gpt-4o-mini", True),
        ("model=~gpt-4.*", "my-gpt-4", False),  # anchored at the start
        ("model=~gpt-4", "gpt-4o", False),  # anchored at the end
        ("model=~gpt-4o|claude", "claude", True),  # alternation is anchored as a whole
        ("model=~gpt-4o|claude", "claude-3", False),
        ("model=~gpt-4o|claude", "gpt-4o-mini", False),
        ("model!~gpt-4.*", "gpt-4o", False),
        ("model!~gpt-4.*", "claude-3", True),
        ("model!~gpt-4", "gpt-4o", True),
    ],
)
def test_each_operator_matches_the_whole_value(text: str, value: str, expected: bool) -> None:
    assert m(text).matches({"model": value, "severity": "warning"}) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('team=""', True),
        ("team=", True),
        ("team=ml", False),
        ("team!=ml", True),
        ('team!=""', False),
        ("team=~.*", True),
        ("team=~.+", False),
        ("team!~.+", True),
    ],
)
def test_a_missing_label_is_the_empty_text(text: str, expected: bool) -> None:
    assert m(text).matches({"model": "gpt-4o"}) is expected


def test_parse_reads_name_op_and_value_with_or_without_quotes() -> None:
    assert m("model=~gpt-4.*") == Matcher("model", "=~", "gpt-4.*")
    assert m('model=~"gpt-4.*"') == Matcher("model", "=~", "gpt-4.*")
    assert m('  service != "rag api" ') == Matcher("service", "!=", "rag api")
    assert m("k8s.namespace!~prod-.*") == Matcher("k8s.namespace", "!~", "prod-.*")
    assert m('x="=y"') == Matcher("x", "=", "=y")
    assert m('x="a \\"b\\" \\\\ c"') == Matcher("x", "=", 'a "b" \\ c')
    assert m('x=~"gpt\\.4"') == Matcher("x", "=~", "gpt\\.4")  # unknown escapes are kept
    assert m("_x=a=b") == Matcher("_x", "=", "a=b")


@pytest.mark.parametrize(
    "matcher",
    [
        Matcher("model", "=~", "gpt-4.*"),
        Matcher("model", "!=", ""),
        Matcher("x", "=", 'say "hi"\\now\n\t'),
        Matcher("x", "!~", "a\\.b|c"),
        Matcher("x", "=", "=~ tricky "),
    ],
)
def test_str_round_trips_through_parse(matcher: Matcher) -> None:
    assert parse_matcher(str(matcher)) == matcher


def test_str_quotes_the_value() -> None:
    assert str(m("model=~gpt-4.*")) == 'model=~"gpt-4.*"'


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("model", "has no operator"),
        ("model>gpt", "has no operator"),
        ("=gpt", "has no label name"),
        ("4model=gpt", "'4model' is not a label name"),
        ("mo-del=gpt", "'mo-del' is not a label name"),
        ("model==gpt", "'==' is not an operator"),
        ("model!gpt", "'!g' is not an operator"),
        ("model=~gpt-4(", "invalid regular expression 'gpt-4(': missing ), unterminated"),
        ("model!~[a-", "invalid regular expression '[a-'"),
        ('model="gpt', "opening quote is never closed"),
        ('model="gpt"x', "text after the closing quote"),
    ],
)
def test_parse_errors_name_the_text_and_the_fault(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_matcher(text)
    message = str(info.value)
    assert f"matcher {text!r}" in message
    assert reason in message
    assert "\n" not in message


def test_matcher_validates_when_built_directly() -> None:
    with pytest.raises(ValueError, match="not a label name"):
        Matcher("bad name", "=", "x")
    with pytest.raises(ValueError, match="not an operator"):
        Matcher("x", "~", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid regular expression"):
        Matcher("x", "=~", "(")


def test_parse_matchers_keeps_order_and_takes_one_text_as_one() -> None:
    assert parse_matchers(["a=1", "b!=2"]) == (Matcher("a", "=", "1"), Matcher("b", "!=", "2"))
    assert parse_matchers("a=1") == (Matcher("a", "=", "1"),)
    with pytest.raises(ValueError, match="'b' has no operator"):
        parse_matchers(["a=1", "b"])


# --- silences -------------------------------------------------------------------------


def test_silence_lifecycle_pending_active_expired() -> None:
    s = silence("model=~gpt-4.*", start=NOW + HOUR, end=NOW + 2 * HOUR)
    labels = {"model": "gpt-4o", "alertname": "HighErrorRate"}
    assert s.state(NOW) == "pending"
    assert not s.mutes(labels, NOW)
    assert s.state(NOW + HOUR) == "active"  # starts_at is inclusive
    assert s.mutes(labels, NOW + HOUR)
    assert s.mutes(labels, NOW + 2 * HOUR - timedelta(microseconds=1))
    assert s.state(NOW + 2 * HOUR) == "expired"  # ends_at is exclusive
    assert not s.mutes(labels, NOW + 2 * HOUR)


def test_silence_needs_every_matcher() -> None:
    s = silence("model=~gpt-4.*", "severity=warning")
    assert s.mutes({"model": "gpt-4o", "severity": "warning"}, NOW)
    assert not s.mutes({"model": "gpt-4o", "severity": "critical"}, NOW)
    assert not s.mutes({"model": "claude", "severity": "warning"}, NOW)


def test_naive_times_are_utc() -> None:
    s = silence("a=1", start=datetime(2025, 5, 10, 12), end=datetime(2025, 5, 10, 13))
    assert s.starts_at == NOW
    assert s.state(datetime(2025, 5, 10, 12, 30)) == "active"


def test_store_add_persists_across_instances(tmp_path: Path) -> None:
    folder = tmp_path / "alerts"
    added = SilenceStore(folder).add(
        parse_matchers(['model=~"gpt-4.*"', "service!=batch"]),
        NOW,
        NOW + 2 * HOUR,
        "ana",
        "provider incident",
        NOW,
    )
    assert len(added.id) == 8
    assert int(added.id, 16) >= 0
    again = SilenceStore(folder)
    assert again.list(NOW) == [added]
    assert again.get(added.id) == added
    assert again.get(added.id).matchers[0] == Matcher("model", "=~", "gpt-4.*")
    assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock")) == [
        "silences.json"
    ]


def test_store_ids_are_unique_and_list_is_sorted(tmp_path: Path) -> None:
    store = SilenceStore(tmp_path)
    later = store.add((m("a=1"),), NOW + HOUR, NOW + 2 * HOUR, "ana", "later", NOW)
    first = store.add((m("a=2"),), NOW, NOW + HOUR, "ana", "first", NOW)
    more = [store.add((m("b=1"),), NOW, NOW + HOUR, "bo", "", NOW) for _ in range(20)]
    ids = {s.id for s in [later, first, *more]}
    assert len(ids) == 22
    listed = store.list(NOW)
    assert listed[-1] == later  # pending silences are listed, after those that started
    assert [s.starts_at for s in listed] == sorted(s.starts_at for s in listed)


def test_concurrent_adds_lose_nothing(tmp_path: Path) -> None:
    def add_five(n: int) -> None:
        store = SilenceStore(tmp_path)
        for i in range(5):
            store.add((m(f"a={n}-{i}"),), NOW, NOW + HOUR, "ana", "", NOW)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(add_five, range(8)))
    assert len(SilenceStore(tmp_path).list(NOW)) == 40


def test_missing_file_means_no_silences(tmp_path: Path) -> None:
    store = SilenceStore(tmp_path / "nothing-here")
    assert store.list(NOW, include_expired=True) == []
    with pytest.raises(KeyError, match="no silence with id 'abc'"):
        store.get("abc")


@pytest.mark.parametrize(
    ("matchers", "start", "end", "reason"),
    [
        ((), NOW, NOW + HOUR, "at least one matcher"),
        ((Matcher("a", "=", "1"),), NOW, NOW, "must end after it starts"),
        ((Matcher("a", "=", "1"),), NOW, NOW - HOUR, "must end after it starts"),
        ((Matcher("a", "=", "1"),), NOW - 2 * HOUR, NOW, "already be over"),
    ],
)
def test_add_rejects_silences_that_never_mute(
    tmp_path: Path, matchers: tuple[Matcher, ...], start: datetime, end: datetime, reason: str
) -> None:
    store = SilenceStore(tmp_path)
    with pytest.raises(ValueError, match=reason):
        store.add(matchers, start, end, "ana", "", NOW)
    assert not (tmp_path / "silences.json").exists()


def test_expire_ends_now_and_list_hides_it(tmp_path: Path) -> None:
    store = SilenceStore(tmp_path)
    s = store.add((m("a=1"),), NOW - HOUR, NOW + HOUR, "ana", "", NOW - HOUR)
    later = NOW + timedelta(minutes=5)
    ended = store.expire(s.id, later)
    assert ended.ends_at == later
    assert ended.starts_at == s.starts_at
    assert ended.state(later) == "expired"
    fresh = SilenceStore(tmp_path)
    assert fresh.list(later) == []
    assert fresh.list(later, include_expired=True) == [ended]
    assert fresh.expire(s.id, later + HOUR) == ended  # expiring twice changes nothing


def test_expire_a_pending_silence_ends_it_before_it_starts(tmp_path: Path) -> None:
    store = SilenceStore(tmp_path)
    s = store.add((m("a=1"),), NOW + HOUR, NOW + 2 * HOUR, "ana", "", NOW)
    ended = store.expire(s.id, NOW)
    assert (ended.starts_at, ended.ends_at) == (NOW, NOW)
    assert ended.state(NOW) == "expired"
    assert not ended.mutes({"a": "1"}, NOW + 90 * timedelta(minutes=1))


def _write(path: Path, silences: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps({"version": 1, "silences": silences}))


def _stored(id_: str) -> dict[str, Any]:
    return {
        "id": id_,
        "matchers": [{"name": "a", "op": "=", "value": "1"}],
        "starts_at": NOW.isoformat(),
        "ends_at": (NOW + HOUR).isoformat(),
        "created_by": "ana",
        "comment": "",
        "created_at": NOW.isoformat(),
    }


def test_expire_by_prefix_unknown_and_ambiguous(tmp_path: Path) -> None:
    _write(tmp_path / "silences.json", [_stored("ab12cd34"), _stored("ab99ee00")])
    store = SilenceStore(tmp_path)
    assert store.expire("ab1", NOW).id == "ab12cd34"
    assert store.get("ab99").state(NOW) == "active"
    with pytest.raises(KeyError, match="'ab' is ambiguous: it starts ab12cd34, ab99ee00"):
        store.expire("ab", NOW)
    with pytest.raises(KeyError, match="no silence with id 'ff'"):
        store.expire("ff", NOW)
    with pytest.raises(KeyError, match="no silence id given"):
        store.expire(" ", NOW)
    assert store.get("AB99EE00").id == "ab99ee00"


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"version": 2, "silences": []}',
        '{"version": 1, "silences": {}}',
        '{"version": 1, "silences": [{"id": "x"}]}',
        '{"version": 1, "silences": [3]}',
        json.dumps({"version": 1, "silences": [{**_stored("x"), "starts_at": "yesterday"}]}),
        json.dumps(
            {
                "version": 1,
                "silences": [
                    {**_stored("x"), "matchers": [{"name": "a", "op": "=~", "value": "("}]}
                ],
            }
        ),
        json.dumps({"version": 1, "silences": [{**_stored("x"), "comment": 3}]}),
    ],
)
def test_a_corrupt_file_is_a_usage_error_naming_it(tmp_path: Path, content: str) -> None:
    path = tmp_path / "silences.json"
    path.write_text(content)
    store = SilenceStore(tmp_path)
    with pytest.raises(UsageError) as info:
        store.list(NOW)
    assert str(path) in info.value.message
    assert "not a valid silences file" in info.value.message
    with pytest.raises(UsageError):
        store.add((m("a=1"),), NOW, NOW + HOUR, "ana", "", NOW)
    assert path.read_text() == content  # never overwritten


def test_an_unwritable_folder_is_a_store_write_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreWriteError, match="cannot write the silences"):
        SilenceStore(blocker).add((m("a=1"),), NOW, NOW + HOUR, "ana", "", NOW)


# --- maintenance windows --------------------------------------------------------------


def windows(*items: dict[str, Any]) -> tuple[MaintenanceWindow, ...]:
    return parse_maintenance(list(items), "pyflare.yaml: maintenance")


def test_window_by_models_is_a_literal_alternation() -> None:
    (w,) = windows(
        {"name": "migration", "start": "2025-05-10T11:00:00Z", "end": "2025-05-10T13:00:00Z",
         "models": ["gpt-4o", "gpt-4.1"]}
    )  # fmt: skip
    assert w.matchers == (Matcher("model", "=~", "gpt\\-4o|gpt\\-4\\.1"),)
    assert w.mutes({"model": "gpt-4o"}, NOW)
    assert w.mutes({"model": "gpt-4.1"}, NOW)
    assert not w.mutes({"model": "gpt-4x1"}, NOW)  # the dot is literal
    assert not w.mutes({"model": "gpt-4o-mini"}, NOW)
    assert not w.mutes({"service": "rag-api"}, NOW)


def test_window_services_models_and_matchers_all_narrow() -> None:
    (w,) = windows(
        {"name": "rag", "start": "2025-05-10T11:00:00+00:00", "end": "2025-05-10T13:00:00",
         "services": "rag-api", "models": ["gpt-4o"], "matchers": ["severity!=critical"]}
    )  # fmt: skip
    assert w.matchers == (
        Matcher("model", "=", "gpt-4o"),
        Matcher("service", "=", "rag-api"),
        Matcher("severity", "!=", "critical"),
    )
    assert w.mutes({"service": "rag-api", "model": "gpt-4o", "severity": "warning"}, NOW)
    assert not w.mutes({"service": "rag-api", "model": "gpt-4o", "severity": "critical"}, NOW)
    assert not w.mutes({"service": "other", "model": "gpt-4o", "severity": "warning"}, NOW)


def test_window_time_bounds_and_empty_means_everything() -> None:
    (w,) = windows({"name": "all", "start": "2025-05-10T12:00:00", "end": "2025-05-10T14:00"})
    assert w.matchers == ()
    assert w.starts_at == NOW  # naive is UTC
    assert not w.mutes({"model": "x"}, NOW - timedelta(seconds=1))
    assert w.mutes({"model": "x"}, NOW)
    assert w.mutes({}, NOW + 2 * HOUR - timedelta(seconds=1))
    assert not w.mutes({"model": "x"}, NOW + 2 * HOUR)


def test_window_accepts_yaml_timestamps_and_other_offsets() -> None:
    (a, b) = windows(
        {"name": "a", "start": datetime(2025, 5, 10, 12), "end": date(2025, 5, 11)},
        {"name": "b", "start": "2025-05-10T14:00:00+02:00", "end": "2025-05-10T15:00:00+02:00"},
    )
    assert (a.starts_at, a.ends_at) == (NOW, datetime(2025, 5, 11, tzinfo=UTC))
    assert b.starts_at == NOW
    assert b.mutes({}, NOW)


def test_maintenance_absent_is_none() -> None:
    assert parse_maintenance(None, "pyflare.yaml: maintenance") == ()


GOOD = {"name": "w", "start": "2025-05-10T11:00:00Z", "end": "2025-05-10T13:00:00Z"}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("w", "pyflare.yaml: maintenance[1]: must be a mapping"),
        ({**GOOD, "mdoels": ["x"]}, "maintenance[1].mdoels: not a known key"),
        ({"name": "w", "end": "2025-05-10"}, "maintenance[1].start: missing"),
        ({**GOOD, "name": " "}, "maintenance[1].name: must be a non-empty text"),
        ({**GOOD, "start": "tomorrow"}, "maintenance[1].start: 'tomorrow' is not an ISO date"),
        ({**GOOD, "end": 5}, "maintenance[1].end: 5 is not an ISO date"),
        ({**GOOD, "end": "2025-05-10T11:00:00Z"}, "maintenance[1].end: 2025-05-10T11:00:00+00:00 "),
        ({**GOOD, "models": []}, "maintenance[1].models: must be a non-empty list of models"),
        ({**GOOD, "services": [1]}, "maintenance[1].services: must be a non-empty list"),
        ({**GOOD, "matchers": "a=1"}, "maintenance[1].matchers: must be a list of matchers"),
        ({**GOOD, "matchers": ["a=1", "b"]}, "maintenance[1].matchers[1]: matcher 'b' has no"),
        (
            {**GOOD, "matchers": ["a=~("]},
            "maintenance[1].matchers[0]: matcher 'a=~(': invalid regular expression",
        ),
        (GOOD, "maintenance[1].name: 'w' is already the name of pyflare.yaml: maintenance[0]"),
    ],
)
def test_maintenance_errors_name_the_key(item: Any, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_maintenance([GOOD, item], "pyflare.yaml: maintenance")
    assert message in info.value.message
    assert info.value.message.startswith("pyflare.yaml: maintenance[1]")


def test_maintenance_must_be_a_list() -> None:
    with pytest.raises(UsageError, match=r"pyflare\.yaml: maintenance: must be a list"):
        parse_maintenance({"name": "w"}, "pyflare.yaml: maintenance")


# --- inhibition -----------------------------------------------------------------------


def alert(name: str, severity: str, **labels: str) -> dict[str, str]:
    return {"alertname": name, "severity": severity, **labels}


def test_default_critical_mutes_warning_and_info_of_the_same_alertname() -> None:
    critical = alert("HighErrorRate", "critical", model="gpt-4o")
    assert inhibited(alert("HighErrorRate", "warning", model="gpt-4o"), [critical], DEFAULT_INHIBIT)
    assert inhibited(alert("HighErrorRate", "info", model="gpt-4o"), [critical], DEFAULT_INHIBIT)
    warning = alert("HighErrorRate", "warning")
    assert inhibited(alert("HighErrorRate", "info"), [warning], DEFAULT_INHIBIT)
    assert not inhibited(alert("HighErrorRate", "critical"), [warning], DEFAULT_INHIBIT)


def test_different_alertname_is_not_muted() -> None:
    critical = alert("HighErrorRate", "critical")
    assert not inhibited(alert("SlowResponses", "warning"), [critical], DEFAULT_INHIBIT)


def test_a_resolved_source_no_longer_inhibits() -> None:
    warning = alert("HighErrorRate", "warning")
    critical = alert("HighErrorRate", "critical")
    assert inhibited(warning, [critical], DEFAULT_INHIBIT)
    assert not inhibited(warning, [], DEFAULT_INHIBIT)  # the caller passes only firing ones
    assert not inhibited(warning, [warning], DEFAULT_INHIBIT)


def test_an_alert_never_inhibits_itself() -> None:
    rule = InhibitRule(source=(m("severity=critical"),), target=(), equal=())
    critical = alert("StoreDown", "critical")
    assert not inhibited(critical, [critical], [rule])
    assert inhibited(alert("Other", "warning"), [critical], [rule])


def test_two_alerts_matching_both_sides_do_not_mute_each_other() -> None:
    rule = InhibitRule(source=(m("severity=critical"),), target=(), equal=())
    a, b = alert("A", "critical"), alert("B", "critical")
    assert not inhibited(a, [a, b], [rule])
    assert not inhibited(b, [a, b], [rule])


def test_equal_labels_with_missing_ones() -> None:
    rule = InhibitRule(
        source=(m("severity=critical"),), target=(m("severity=warning"),), equal=("model",)
    )
    assert inhibited(alert("A", "warning"), [alert("B", "critical")], [rule])  # missing == missing
    assert not inhibited(alert("A", "warning"), [alert("B", "critical", model="x")], [rule])
    assert not inhibited(alert("A", "warning", model="x"), [alert("B", "critical")], [rule])
    assert inhibited(alert("A", "warning", model="x"), [alert("B", "critical", model="x")], [rule])
    assert not inhibited(
        alert("A", "warning", model="x"), [alert("B", "critical", model="y")], [rule]
    )


def test_parse_inhibit_rules_default_empty_and_custom() -> None:
    assert parse_inhibit_rules(None, "rules.yaml: inhibit_rules") == DEFAULT_INHIBIT
    assert parse_inhibit_rules([], "rules.yaml: inhibit_rules") == ()
    (rule,) = parse_inhibit_rules(
        [
            {
                "source_matchers": ['alertname="StoreDown"'],
                "target_matchers": ["severity=~warning|info"],
                "equal": ["service"],
            }
        ],
        "rules.yaml: inhibit_rules",
    )
    assert rule == InhibitRule(
        source=(Matcher("alertname", "=", "StoreDown"),),
        target=(Matcher("severity", "=~", "warning|info"),),
        equal=("service",),
    )
    (bare,) = parse_inhibit_rules([{"source_matchers": ["a=1"]}], "x")
    assert (bare.target, bare.equal) == ((), ())


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ([], "rules.yaml: inhibit_rules[0]: must be a mapping"),
        ({"source": ["a=1"]}, "rules.yaml: inhibit_rules[0].source: not a known key"),
        ({"target_matchers": ["a=1"]}, "rules.yaml: inhibit_rules[0].source_matchers: missing"),
        ({"source_matchers": []}, "inhibit_rules[0].source_matchers: must list at least one"),
        (
            {"source_matchers": ["a=1"], "target_matchers": ["b"]},
            "rules.yaml: inhibit_rules[0].target_matchers[0]: matcher 'b' has no operator",
        ),
        ({"source_matchers": ["a=1"], "equal": "model"}, "inhibit_rules[0].equal: must be a list"),
        (
            {"source_matchers": ["a=1"], "equal": ["model", "bad-name"]},
            "rules.yaml: inhibit_rules[0].equal[1]: 'bad-name' is not a label name",
        ),
    ],
)
def test_inhibit_rule_errors_name_the_key(item: Any, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_inhibit_rules([item], "rules.yaml: inhibit_rules")
    assert message in info.value.message


def test_inhibit_rules_must_be_a_list() -> None:
    with pytest.raises(UsageError, match="inhibit_rules: must be a list"):
        parse_inhibit_rules({"source_matchers": []}, "rules.yaml: inhibit_rules")


# --- muted: all together --------------------------------------------------------------


WARNING = alert("HighErrorRate", "warning", model="gpt-4o", service="rag-api")
CRITICAL = alert("HighErrorRate", "critical", model="gpt-4o", service="rag-api")
WINDOW = MaintenanceWindow("rag-upgrade", NOW - HOUR, NOW + HOUR, (m("service=rag-api"),))


def test_muted_prefers_silence_then_maintenance_then_inhibition() -> None:
    s = silence("model=~gpt-4.*")
    assert muted(WARNING, NOW, [s], [WINDOW], DEFAULT_INHIBIT, [CRITICAL]) == Mute(
        "silenced", "abcd1234"
    )
    assert muted(WARNING, NOW, [], [WINDOW], DEFAULT_INHIBIT, [CRITICAL]) == Mute(
        "maintenance", "rag-upgrade"
    )
    assert muted(WARNING, NOW, [], [], DEFAULT_INHIBIT, [CRITICAL]) == Mute(
        "inhibited", "HighErrorRate"
    )
    assert muted(WARNING, NOW, [], [], DEFAULT_INHIBIT, [WARNING]) is None


def test_muted_is_none_when_nothing_applies_now() -> None:
    pending = silence("model=~gpt-4.*", start=NOW + HOUR, end=NOW + 2 * HOUR)
    other = silence("model=claude")
    past = MaintenanceWindow("done", NOW - 2 * HOUR, NOW - HOUR, ())
    assert muted(WARNING, NOW, [pending, other], [past], DEFAULT_INHIBIT, [CRITICAL]) == Mute(
        "inhibited", "HighErrorRate"
    )
    assert muted(WARNING, NOW, [pending, other], [past], (), [CRITICAL]) is None
    assert muted(CRITICAL, NOW, [pending, other], [past], DEFAULT_INHIBIT, [CRITICAL]) is None


def test_muted_names_an_inhibitor_without_alertname_by_fingerprint() -> None:
    rule = InhibitRule(source=(m("kind=outage"),), target=(), equal=())
    mute = muted({"alertname": "A"}, NOW, [], [], [rule], [{"kind": "outage"}])
    assert mute is not None and mute.reason == "inhibited"
    assert len(mute.detail) == 16
