"""What keeps an alert quiet without changing it: silences, maintenance windows, inhibition.

An alert's state (pending, firing, resolved) is what the rules say about the spans; whether
anyone is *told* is a separate question, and this module answers it. Three things can mute
a notification, as in Alertmanager, and none of them ever changes an alert's state, its
history or the exit code of ``pyflare alert check``:

- a **silence** (``pyflare alert silence add --matcher 'model=~gpt-4.*' --duration 2h``):
  label matchers and a time range, made on the spot and kept in ``silences.json`` so that
  consecutive ``check`` runs and a ``watch`` all see it;
- a **maintenance window** from the configuration: a planned range of time for some
  models or services (or label matchers), written down in advance;
- an **inhibition rule**: while a *source* alert fires, *target* alerts with the same
  values of the ``equal`` labels are muted (a critical alert mutes the matching warning).

Matchers follow Alertmanager: ``=``, ``!=``, ``=~`` and ``!~``; a missing label counts as
the empty text, and regular expressions are anchored at both ends (``model=~gpt-4`` does
not match ``gpt-4o``). Regular expressions are Python's :mod:`re`, not Go's RE2: the
syntax of everyday patterns is the same. :func:`muted` combines the three and says why.
Times are aware UTC datetimes; a naive datetime given here is taken as UTC.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pyflare_cli.alerting.model import fingerprint
from pyflare_cli.errors import StoreWriteError, UsageError

Op = Literal["=", "!=", "=~", "!~"]
OPS: tuple[Op, ...] = ("=", "!=", "=~", "!~")
SILENCES_FILE = "silences.json"
_FORMAT_VERSION = 1
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


def _utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- matchers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Matcher:
    """One label condition: ``name op value``, e.g. ``model=~"gpt-4.*"``.

    A missing label is the empty text, so ``team=""`` matches alerts without a ``team``
    and ``team!="ml"`` matches them too. Regular expressions must match the whole value.
    """

    name: str
    op: Op
    value: str
    _pattern: re.Pattern[str] | None = field(
        init=False, default=None, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if not _LABEL_NAME.fullmatch(self.name):
            raise ValueError(f"{self.name!r} is not a label name ([A-Za-z_][A-Za-z0-9_.]*)")
        if self.op not in OPS:
            raise ValueError(f"{self.op!r} is not an operator; use =, !=, =~ or !~")
        if self.op in ("=~", "!~"):
            try:
                pattern = re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {self.value!r}: {exc}") from None
            object.__setattr__(self, "_pattern", pattern)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether the label set satisfies this matcher (a missing label is "")."""
        value = labels.get(self.name, "")
        if self._pattern is not None:
            found = self._pattern.fullmatch(value) is not None
            return found if self.op == "=~" else not found
        return value == self.value if self.op == "=" else value != self.value

    def __str__(self) -> str:
        text = self.value.replace("\\", "\\\\").replace('"', '\\"')
        text = text.replace("\n", "\\n").replace("\t", "\\t")
        return f'{self.name}{self.op}"{text}"'


def _unquote(text: str, source: str) -> str:
    """The value of a matcher: as written, or the inside of double quotes.

    Inside quotes ``\\"``, ``\\\\``, ``\\n`` and ``\\t`` are escapes; any other backslash is
    kept as written, so ``"gpt\\.4"`` is the regular expression ``gpt\\.4``.
    """
    if not text.startswith('"'):
        return text
    out: list[str] = []
    i = 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if char == '"':
            if i != len(text) - 1:
                raise ValueError(
                    f"matcher {source!r}: text after the closing quote; "
                    'write \\" for a quote inside the value'
                )
            return "".join(out)
        out.append(char)
        i += 1
    raise ValueError(f"matcher {source!r}: the value's opening quote is never closed")


def parse_matcher(text: str) -> Matcher:
    """A matcher from ``name=value``, ``name!=value``, ``name=~regex`` or ``name!~regex``.

    The value may be in double quotes (needed when it starts with ``=`` or ``~`` or has
    leading or trailing spaces). Raises :class:`ValueError` with one line naming ``text``
    and what is wrong.
    """
    stripped = text.strip()
    at = min((i for i in (stripped.find("="), stripped.find("!")) if i >= 0), default=-1)
    if at < 0:
        raise ValueError(f"matcher {text!r} has no operator; use =, !=, =~ or !~")
    name = stripped[:at].strip()
    if not name:
        raise ValueError(f"matcher {text!r} has no label name before the operator")
    if not _LABEL_NAME.fullmatch(name):
        raise ValueError(
            f"matcher {text!r}: {name!r} is not a label name "
            "(a letter or _, then letters, digits, _ or .)"
        )
    rest = stripped[at:]
    op: Op
    if rest.startswith(("=~", "!~", "!=")):
        op = "=~" if rest[0] == "=" else ("!~" if rest[1] == "~" else "!=")
    elif rest.startswith("=="):
        raise ValueError(f"matcher {text!r}: '==' is not an operator; use =, !=, =~ or !~")
    elif rest.startswith("="):
        op = "="
    else:
        raise ValueError(f"matcher {text!r}: {rest[:2]!r} is not an operator; use =, !=, =~ or !~")
    value = _unquote(rest[len(op) :].strip(), text)
    try:
        return Matcher(name, op, value)
    except ValueError as exc:
        raise ValueError(f"matcher {text!r}: {exc}") from None


def parse_matchers(texts: Iterable[str]) -> tuple[Matcher, ...]:
    """Every text parsed with :func:`parse_matcher` (a single text counts as one)."""
    if isinstance(texts, str):
        texts = (texts,)
    return tuple(parse_matcher(text) for text in texts)


def _all_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


# --- silences -------------------------------------------------------------------------


@dataclass(frozen=True)
class Silence:
    """Mutes the alerts its matchers all match, from ``starts_at`` until ``ends_at``.

    Pending before ``starts_at``, active from ``starts_at`` (inclusive) to ``ends_at``
    (exclusive), expired afterwards; ``expire`` sets ``ends_at`` to the moment.
    """

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime

    def __post_init__(self) -> None:
        for name in ("starts_at", "ends_at", "created_at"):
            object.__setattr__(self, name, _utc(getattr(self, name)))

    def state(self, now: datetime) -> Literal["pending", "active", "expired"]:
        now = _utc(now)
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        """Active at ``now`` and every matcher matches."""
        return self.state(now) == "active" and _all_match(self.matchers, labels)


def _silence_to_json(silence: Silence) -> dict[str, Any]:
    return {
        "id": silence.id,
        "matchers": [{"name": m.name, "op": m.op, "value": m.value} for m in silence.matchers],
        "starts_at": silence.starts_at.isoformat(),
        "ends_at": silence.ends_at.isoformat(),
        "created_by": silence.created_by,
        "comment": silence.comment,
        "created_at": silence.created_at.isoformat(),
    }


def _silence_from_json(item: Any) -> Silence:
    """A stored silence; ValueError/TypeError/KeyError when it is not one."""
    if not isinstance(item, dict):
        raise ValueError(f"a silence must be an object, not {item!r}")
    matchers = []
    for m in item["matchers"]:
        if not isinstance(m, dict) or not all(isinstance(m.get(k), str) for k in m):
            raise ValueError(f"a matcher must be an object of texts, not {m!r}")
        matchers.append(Matcher(m["name"], m["op"], m["value"]))
    texts = {k: item[k] for k in ("id", "created_by", "comment")}
    for key, value in texts.items():
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a text, not {value!r}")
    return Silence(
        id=texts["id"],
        matchers=tuple(matchers),
        starts_at=datetime.fromisoformat(item["starts_at"]),
        ends_at=datetime.fromisoformat(item["ends_at"]),
        created_by=texts["created_by"],
        comment=texts["comment"],
        created_at=datetime.fromisoformat(item["created_at"]),
    )


class SilenceStore:
    """Silences persisted in ``folder/silences.json``.

    Writes are atomic (a temporary file, then :func:`os.replace`) and the read-change-write
    of :meth:`add` and :meth:`expire` holds an exclusive lock on ``silences.json.lock``, so
    two commands never lose each other's silence. A missing file means no silences; a file
    that cannot be read as silences raises :class:`UsageError` naming it. Expired silences
    are kept (``list(..., include_expired=True)`` shows them).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / SILENCES_FILE

    def _load(self) -> list[Silence]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise UsageError(f"{self.path}: cannot read the silences: {exc.strerror}") from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("version") != _FORMAT_VERSION:
                raise ValueError(f"not a version {_FORMAT_VERSION} silences file")
            if not isinstance(data.get("silences"), list):
                raise ValueError("'silences' is not a list")
            return [_silence_from_json(item) for item in data["silences"]]
        except (ValueError, TypeError, KeyError) as exc:
            reason = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise UsageError(
                f"{self.path}: not a valid silences file ({reason}); fix or remove it"
            ) from None

    def _save(self, silences: list[Silence]) -> None:
        data = {"version": _FORMAT_VERSION, "silences": [_silence_to_json(s) for s in silences]}
        temp = self.path.with_name(f".{SILENCES_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            temp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            os.replace(temp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise StoreWriteError(
                f"{self.path}: cannot write the silences: {exc.strerror}"
            ) from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path.with_name(SILENCES_FILE + ".lock"), os.O_RDWR | os.O_CREAT)
        except OSError as exc:
            raise StoreWriteError(
                f"{self.path}: cannot write the silences: {exc.strerror}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def list(self, now: datetime, include_expired: bool = False) -> list[Silence]:
        """Pending and active silences (and expired ones if asked), by start, then id."""
        found = [s for s in self._load() if include_expired or s.state(now) != "expired"]
        return sorted(found, key=lambda s: (s.starts_at, s.id))

    def add(
        self,
        matchers: tuple[Matcher, ...],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
        now: datetime,
    ) -> Silence:
        """Store a new silence with a fresh 8-hex-digit id and return it.

        :class:`ValueError` when there are no matchers, ``ends_at`` is not after
        ``starts_at``, or ``ends_at`` is not after ``now`` (a silence that never mutes).
        """
        if not matchers:
            raise ValueError("a silence needs at least one matcher")
        starts_at, ends_at, now = _utc(starts_at), _utc(ends_at), _utc(now)
        if ends_at <= starts_at:
            raise ValueError(
                f"a silence must end after it starts ({ends_at.isoformat()} is not after "
                f"{starts_at.isoformat()})"
            )
        if ends_at <= now:
            raise ValueError(f"a silence ending at {ends_at.isoformat()} would already be over")
        with self._locked():
            silences = self._load()
            taken = {s.id for s in silences}
            new_id = secrets.token_hex(4)
            while new_id in taken:  # pragma: no cover - 1 in 4 billion
                new_id = secrets.token_hex(4)
            silence = Silence(
                id=new_id,
                matchers=tuple(matchers),
                starts_at=starts_at,
                ends_at=ends_at,
                created_by=created_by,
                comment=comment,
                created_at=now,
            )
            self._save([*silences, silence])
        return silence

    @staticmethod
    def _find(silences: builtins.list[Silence], silence_id: str) -> Silence:
        wanted = silence_id.strip().lower()
        if not wanted:
            raise KeyError("no silence id given")
        found = [s for s in silences if s.id.startswith(wanted)]
        if not found:
            raise KeyError(f"no silence with id {silence_id!r}")
        if len(found) > 1:
            ids = ", ".join(sorted(s.id for s in found))
            raise KeyError(f"silence id {silence_id!r} is ambiguous: it starts {ids}")
        return found[0]

    def get(self, silence_id: str) -> Silence:
        """The silence with this id or unique id prefix (KeyError with a message if none)."""
        return self._find(self._load(), silence_id)

    def expire(self, silence_id: str, now: datetime) -> Silence:
        """End the silence (id or unique prefix) at ``now`` and return it.

        A pending silence gets ``starts_at = ends_at = now``. An already expired silence is
        returned unchanged, so expiring twice is harmless. KeyError (with a message) when
        the id is unknown or the prefix ambiguous.
        """
        now = _utc(now)
        with self._locked():
            silences = self._load()
            silence = self._find(silences, silence_id)
            if silence.state(now) == "expired":
                return silence
            starts_at = min(silence.starts_at, now)
            ended = replace(silence, starts_at=starts_at, ends_at=now)
            self._save([ended if s.id == silence.id else s for s in silences])
        return ended


# --- maintenance windows --------------------------------------------------------------


@dataclass(frozen=True)
class MaintenanceWindow:
    """A planned quiet time: mutes what all ``matchers`` match (empty: everything).

    Active from ``starts_at`` (inclusive) to ``ends_at`` (exclusive).
    """

    name: str
    starts_at: datetime
    ends_at: datetime
    matchers: tuple[Matcher, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts_at", _utc(self.starts_at))
        object.__setattr__(self, "ends_at", _utc(self.ends_at))

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        now = _utc(now)
        return self.starts_at <= now < self.ends_at and _all_match(self.matchers, labels)


_WINDOW_KEYS = ("name", "start", "end", "models", "services", "matchers")


def _moment(value: Any, where: str) -> datetime:
    # PyYAML turns unquoted timestamps into datetime (or date) objects itself.
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _utc(datetime.fromisoformat(value.strip()))
        except ValueError:
            pass
    raise UsageError(
        f"{where}: {value!r} is not an ISO date and time, such as 2025-05-01T22:00:00Z"
    )


def _texts(value: Any, where: str, what: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise UsageError(f"{where}: must be a non-empty list of {what}, not {value!r}")
    return [v.strip() for v in value]


def _one_of(label: str, values: list[str]) -> Matcher:
    """``label`` equal to one of ``values``: ``=`` for one, else an escaped alternation."""
    if len(values) == 1:
        return Matcher(label, "=", values[0])
    return Matcher(label, "=~", "|".join(re.escape(v) for v in dict.fromkeys(values)))


def _matcher_list(value: Any, where: str) -> tuple[Matcher, ...]:
    if not isinstance(value, list):
        raise UsageError(f"{where}: must be a list of matchers such as 'model=~gpt-4.*'")
    out: list[Matcher] = []
    for j, text in enumerate(value):
        if not isinstance(text, str):
            raise UsageError(f"{where}[{j}]: must be a matcher text, not {text!r}")
        try:
            out.append(parse_matcher(text))
        except ValueError as exc:
            raise UsageError(f"{where}[{j}]: {exc}") from None
    return tuple(out)


def _window(item: Any, where: str) -> MaintenanceWindow:
    if not isinstance(item, dict):
        raise UsageError(f"{where}: must be a mapping with name, start and end")
    for key in item:
        if key not in _WINDOW_KEYS:
            raise UsageError(f"{where}.{key}: not a known key; use {', '.join(_WINDOW_KEYS)}")
    for key in ("name", "start", "end"):
        if key not in item:
            raise UsageError(f"{where}.{key}: missing")
    name = item["name"]
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"{where}.name: must be a non-empty text, not {name!r}")
    starts_at = _moment(item["start"], f"{where}.start")
    ends_at = _moment(item["end"], f"{where}.end")
    if ends_at <= starts_at:
        raise UsageError(
            f"{where}.end: {ends_at.isoformat()} is not after start {starts_at.isoformat()}"
        )
    matchers: list[Matcher] = []
    for key, label in (("models", "model"), ("services", "service")):
        if key in item:
            matchers.append(_one_of(label, _texts(item[key], f"{where}.{key}", f"{key} names")))
    if "matchers" in item:
        matchers.extend(_matcher_list(item["matchers"], f"{where}.matchers"))
    return MaintenanceWindow(name.strip(), starts_at, ends_at, tuple(matchers))


def parse_maintenance(section: Any, where: str) -> tuple[MaintenanceWindow, ...]:
    """Maintenance windows from configuration, in order; () when the section is absent.

    ```yaml
    maintenance:
      - name: provider-migration
        start: 2025-05-01T22:00:00Z   # ISO; naive times are UTC
        end: 2025-05-02T02:00:00Z     # after start
        models: [gpt-4o, gpt-4o-mini] # -> model=~"gpt\\-4o|gpt\\-4o\\-mini" (literal names)
        services: rag-api             # -> service="rag-api"
        matchers: ['route=~"/v1/.*"'] # any further label matchers
    ```

    ``models``, ``services`` and ``matchers`` must all match (they narrow the window);
    with none of them the window mutes everything. Errors raise :class:`UsageError` as
    ``f"{where}[i].key: reason"``; names must be unique.
    """
    if section is None:
        return ()
    if not isinstance(section, list):
        raise UsageError(f"{where}: must be a list of maintenance windows")
    windows: list[MaintenanceWindow] = []
    first: dict[str, int] = {}
    for i, item in enumerate(section):
        window = _window(item, f"{where}[{i}]")
        if window.name in first:
            raise UsageError(
                f"{where}[{i}].name: {window.name!r} is already the name of "
                f"{where}[{first[window.name]}]"
            )
        first[window.name] = i
        windows.append(window)
    return tuple(windows)


# --- inhibition -----------------------------------------------------------------------


@dataclass(frozen=True)
class InhibitRule:
    """While an alert matching ``source`` fires, mute alerts matching ``target`` whose
    ``equal`` labels have the same values (a label missing on both sides is equal)."""

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


DEFAULT_INHIBIT: tuple[InhibitRule, ...] = (
    InhibitRule(
        source=(Matcher("severity", "=", "critical"),),
        target=(Matcher("severity", "=~", "warning|info"),),
        equal=("*",),
    ),
    InhibitRule(
        source=(Matcher("severity", "=", "warning"),),
        target=(Matcher("severity", "=", "info"),),
        equal=("*",),
    ),
)
"""The inhibition used when the configuration has no ``inhibit_rules`` section: a firing
critical alert mutes the warning and info alerts with the same labels (all but severity,
``equal: ["*"]``), and a firing warning mutes the info ones. An empty list
(``inhibit_rules: []``) turns inhibition off."""

_INHIBIT_KEYS = ("source_matchers", "target_matchers", "equal")


def _inhibit_rule(item: Any, where: str) -> InhibitRule:
    if not isinstance(item, dict):
        raise UsageError(f"{where}: must be a mapping with source_matchers, target_matchers")
    for key in item:
        if key not in _INHIBIT_KEYS:
            raise UsageError(f"{where}.{key}: not a known key; use {', '.join(_INHIBIT_KEYS)}")
    if "source_matchers" not in item:
        raise UsageError(f"{where}.source_matchers: missing")
    source = _matcher_list(item["source_matchers"], f"{where}.source_matchers")
    if not source:
        raise UsageError(
            f"{where}.source_matchers: must list at least one matcher "
            "(with none, every firing alert would mute others)"
        )
    target = _matcher_list(item.get("target_matchers", []), f"{where}.target_matchers")
    equal = item.get("equal", [])
    if not isinstance(equal, list):
        raise UsageError(f"{where}.equal: must be a list of label names, not {equal!r}")
    for j, name in enumerate(equal):
        if not isinstance(name, str) or not _LABEL_NAME.fullmatch(name):
            raise UsageError(f"{where}.equal[{j}]: {name!r} is not a label name")
    return InhibitRule(source=source, target=target, equal=tuple(equal))


def parse_inhibit_rules(section: Any, where: str) -> tuple[InhibitRule, ...]:
    """Inhibition rules from configuration; :data:`DEFAULT_INHIBIT` when absent (None).

    ```yaml
    inhibit_rules:
      - source_matchers: ['alertname="StoreDown"']
        target_matchers: []              # default: every alert
        equal: []                        # default: no label must be equal
      - source_matchers: ['severity="critical"']
        target_matchers: ['severity="warning"']
        equal: [alertname, model]
    ```

    Errors raise :class:`UsageError` as ``f"{where}[i].key: reason"``.
    """
    if section is None:
        return DEFAULT_INHIBIT
    if not isinstance(section, list):
        raise UsageError(f"{where}: must be a list of inhibition rules")
    return tuple(_inhibit_rule(item, f"{where}[{i}]") for i, item in enumerate(section))


ALL_BUT_SEVERITY = "*"
"""In ``equal``: every label but ``severity`` (the same alert, one level down)."""


def _equal(rule: InhibitRule, source: Mapping[str, str], target: Mapping[str, str]) -> set[str]:
    names = set(rule.equal)
    if ALL_BUT_SEVERITY in names:
        names = (names | set(source) | set(target)) - {ALL_BUT_SEVERITY, "severity"}
    return names


def _inhibitor(
    labels: Mapping[str, str],
    firing: Iterable[Mapping[str, str]],
    rules: Iterable[InhibitRule],
) -> Mapping[str, str] | None:
    """The first firing alert that inhibits ``labels``, as Alertmanager decides.

    An alert matching both sides of a rule is inhibited only by sources that do not match
    the target side themselves (Alertmanager's rule, which also keeps an alert from muting
    itself, or two alerts from muting each other).
    """
    sources = list(firing)
    own = dict(labels)
    for rule in rules:
        if not _all_match(rule.target, labels):
            continue
        two_sided = _all_match(rule.source, labels)
        for source in sources:
            if dict(source) == own or not _all_match(rule.source, source):
                continue
            if any(source.get(n, "") != labels.get(n, "") for n in _equal(rule, source, labels)):
                continue
            if two_sided and _all_match(rule.target, source):
                continue
            return source
    return None


def inhibited(
    labels: Mapping[str, str],
    firing: Iterable[Mapping[str, str]],
    rules: Iterable[InhibitRule],
) -> bool:
    """Whether some FIRING alert (labels in ``firing``) inhibits the alert ``labels``.

    Muted when a source alert matches a rule's source matchers, ``labels`` match its
    target matchers, every ``equal`` label has the same value on both (missing equals
    missing, and the empty text), and the source is not the alert itself. Pass only the
    alerts that fire: a pending or resolved alert inhibits nothing.
    """
    return _inhibitor(labels, firing, rules) is not None


# --- all together ---------------------------------------------------------------------


@dataclass(frozen=True)
class Mute:
    """Why a notification is held back: ``detail`` is the silence id, the maintenance
    window's name, or the inhibiting alert's name."""

    reason: Literal["silenced", "maintenance", "inhibited"]
    detail: str


def muted(
    labels: Mapping[str, str],
    now: datetime,
    silences: Iterable[Silence],
    windows: Iterable[MaintenanceWindow],
    inhibit_rules: Iterable[InhibitRule],
    firing: Iterable[Mapping[str, str]],
) -> Mute | None:
    """Whether and why the alert ``labels`` is muted at ``now``; None when it is not.

    Silences are checked first, then maintenance windows, then inhibition (by the
    ``firing`` alerts); the first silence or window in the given order names the reason.
    """
    for silence in silences:
        if silence.mutes(labels, now):
            return Mute("silenced", silence.id)
    for window in windows:
        if window.mutes(labels, now):
            return Mute("maintenance", window.name)
    source = _inhibitor(labels, firing, inhibit_rules)
    if source is not None:
        return Mute("inhibited", source.get("alertname") or fingerprint(dict(source)))
    return None
