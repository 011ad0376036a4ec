"""Silences on disk: persisted, listed, expired, safe between processes, errors named."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from silence_support import HOUR, NOW, m

from pyflare_cli.alerting.muting.matchers import Matcher, parse_matchers
from pyflare_cli.alerting.state.silences import SilenceStore
from pyflare_cli.errors import StoreWriteError, UsageError


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
