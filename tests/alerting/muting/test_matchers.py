"""Label matchers: operators, anchoring, missing labels, parsing and quoting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pyflare_cli.alerting.muting.matchers import Matcher, parse_matcher, parse_matchers

NOW = datetime(2025, 5, 10, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def m(text: str) -> Matcher:
    return parse_matcher(text)


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
