"""Drain template mining: masking rules, drain3's tree and merge rules, ids and counts.

Every expectation is a hand-derived known answer: the masked text of a message, or the
templates Drain must reach following drain3's rules (similarity = equal non-``<*>`` tokens /
token count, merge when ``>= sim_th``, prefix tree of ``depth - 2`` levels below the token
count, digit tokens and overflowing children routed to ``<*>``).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import polars as pl
import pytest

from pyflare_cli.analysis.rca.templates import (
    PARAM,
    Template,
    exception_type,
    mask,
    mine,
    template_table,
)


def _mask_one(text: str) -> str:
    out = mask(pl.Series([text])).item()
    assert isinstance(out, str)
    return out


def _texts(templates: list[Template]) -> list[str]:
    return [t.text for t in templates]


# --- masking -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        # URLs and paths
        ("/var/log/x.log", "<PATH>"),
        ("open /var/log/x.log. failed", "open <PATH>. failed"),
        ("No such file or directory: '/data/in.json'", "No such file or directory: '<PATH>'"),
        ("cd ~/work/run-1 and ../up/there", "cd <PATH> and <PATH>"),
        (r"C:\x\y", "<PATH>"),
        (r"file C:\\Users\\me\\y.txt not found", "file <PATH> not found"),
        ("GET https://host/a?b=1 failed", "GET <URL> failed"),
        ("see https://host/a?b=1.", "see <URL>."),
        ("POST http://10.0.0.1:8080/v1/chat?n=5 (retry)", "POST <URL> (retry)"),
        ("5 / 10 and/or tokens/min", "<NUM> / <NUM> and/or tokens/min"),
        # UUIDs (before hex: the first group alone would be a hex id)
        ("run 123e4567-e89b-12d3-a456-426614174000 failed", "run <UUID> failed"),
        ("ID=123E4567-E89B-12D3-A456-426614174000.", "ID=<UUID>."),
        # hex ids: 0x..., trace/span ids, 8+ hex chars with a letter
        ("segfault at 0x7ffde4a1", "segfault at <HEX>"),
        ("addr 0XFF", "addr <HEX>"),
        (
            "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
            "trace <HEX> span <HEX>",
        ),
        ("trace_id=4bf92f3577b34da6a3ce929d0e0e4736,", "trace_id=<HEX>,"),
        ("request req_0a1b2c3d4e5f", "request req_<HEX>"),
        ("deadbeef", "<HEX>"),
        ("short abc123 stays, Accepted stays", "short abc123 stays, Accepted stays"),
        ("12345678 is a number", "<NUM> is a number"),
        # IPv4 with optional port
        ("connect 10.0.0.12:8080 refused", "connect <IP> refused"),
        ("from 192.168.1.1.", "from <IP>."),
        # e-mail
        ("user a.b+c@example.co.uk denied", "user <EMAIL> denied"),
        ("<bob@corp.io>", "<<EMAIL>>"),
        # timestamps and dates
        ("at 2024-05-01T12:30:45.123Z", "at <TIME>"),
        ("at 2024-05-01 12:30:45", "at <TIME>"),
        ("t=2024-05-01T12:30:45+02:00 x", "t=<TIME> x"),
        ("on 2024-05-01, at 12:30:45", "on <TIME>, at <TIME>"),
        # numbers: decimals, signs, exponents, units, lists
        (
            "Limit 500, Used 500, Requested 1. Please try again in 120ms.",
            "Limit <NUM>, Used <NUM>, Requested <NUM>. Please try again in <NUM>.",
        ),
        ("timeout 30s, 1.5e-3 or -0.5", "timeout <NUM>, <NUM> or <NUM>"),
        ("temperature=-1.5 top_p=+0.9", "temperature=<NUM> top_p=<NUM>"),
        ("Error code: 429", "Error code: <NUM>"),
        ("1,2,3,4 and 1-5", "<NUM>,<NUM>,<NUM>,<NUM> and <NUM>-<NUM>"),
        ("95% 512MB 2h 30seconds 5µs", "<NUM> <NUM> <NUM> <NUM> <NUM>"),
        ("user_42 waited", "user_<NUM> waited"),
        ("gpt-4o-mini org-abc123 v2", "gpt-4o-mini org-abc123 v2"),
        ("gpt-4 and llama-7b", "gpt-<NUM> and llama-<NUM>"),
        # quotes are left alone
        ("KeyError: 'foo' and \"bar\"", "KeyError: 'foo' and \"bar\""),
        ("", ""),
    ],
)
def test_mask_known_answers(raw: str, masked: str) -> None:
    assert _mask_one(raw) == masked


def test_mask_order_url_swallows_its_ids_and_numbers() -> None:
    url = "https://10.0.0.1:8080/v1/runs/123e4567-e89b-12d3-a456-426614174000?n=5&t=2024-05-01"
    assert _mask_one(f"GET {url}") == "GET <URL>"
    # A path is masked before the hex, IP and number rules could split it.
    assert _mask_one("read /tmp/4bf92f3577b34da6/10.0.0.1/5.log") == "read <PATH>"


def test_mask_keeps_nulls_name_and_length() -> None:
    out = mask(pl.Series("msg", ["a 1", None, "b"]))
    assert out.name == "msg"
    assert out.dtype == pl.String
    assert out.to_list() == ["a <NUM>", None, "b"]
    assert mask(pl.Series("m", [], dtype=pl.String)).to_list() == []
    assert mask(pl.Series([None, None])).to_list() == [None, None]


def test_exception_type() -> None:
    out = exception_type(
        pl.Series(
            [
                "RateLimitError: slow down",
                "openai.APITimeoutError: Request timed out.",
                "KeyError:",
                "Error code: 429",
                "C:\\x failed",
                "no type here",
                None,
            ]
        )
    )
    assert out.to_list() == [
        "RateLimitError",
        "openai.APITimeoutError",
        "KeyError",
        None,
        None,
        None,
        None,
    ]


# --- mining: merge rules ----------------------------------------------------------------------


def test_messages_differing_in_masked_variables_merge() -> None:
    templates, ids = mine(
        pl.Series(
            [
                "RateLimitError: retry in 120ms",
                "RateLimitError: retry in 3s",
                "RateLimitError: retry in 1.5s",
            ]
        )
    )
    assert templates == [Template(1, "RateLimitError: retry in <NUM>", 3)]
    assert ids.to_list() == [1, 1, 1]


def test_messages_differing_in_plain_tokens_merge_with_wildcard() -> None:
    templates, ids = mine(
        pl.Series(
            [
                "KeyError: 'alpha' not found in cache",
                "KeyError: 'beta' not found in cache",
                "KeyError: 'gamma' not found in store",
            ]
        )
    )
    assert templates == [Template(1, f"KeyError: {PARAM} not found in {PARAM}", 3)]
    assert ids.to_list() == [1, 1, 1]


def test_different_structures_stay_apart() -> None:
    messages = [
        # same type and token count, similarity 1/6 < 0.4
        "APITimeoutError: Request timed out after 30s",
        "APITimeoutError: pool main exhausted (12 waiting)",
        # different token count
        "APITimeoutError: Request timed out",
        "APITimeoutError: Request timed out after 5s",
    ]
    templates, ids = mine(pl.Series(messages))
    assert sorted(_texts(templates)) == [
        "APITimeoutError: Request timed out",
        "APITimeoutError: Request timed out after <NUM>",
        "APITimeoutError: pool main exhausted (<NUM> waiting)",
    ]
    assert ids.to_list() == [1, 2, 3, 1]


def test_similarity_threshold() -> None:
    messages = pl.Series(["Foo: a b c d e", "Foo: a v w x y"])  # 2 of 6 tokens equal
    assert _texts(mine(messages)[0]) == ["Foo: a b c d e", "Foo: a v w x y"]
    assert mine(messages, sim_th=0.3)[0] == [Template(1, "Foo: a <*> <*> <*> <*>", 2)]
    # the threshold is inclusive: 2 of 5 tokens equal is exactly 0.4
    at_threshold = pl.Series(["E: a b c d", "E: w x y d"])
    assert mine(at_threshold)[0] == [Template(1, "E: <*> <*> <*> d", 2)]
    # drain3 does not count wildcards as similar: "E: q b c d e" scores 5/6 against the first
    # message but only 2/6 against "E: a b <*> <*> <*>", so it starts a cluster of its own.
    three = pl.Series(["E: a b c d e", "E: a b x y z", "E: q b c d e"])
    templates, ids = mine(three)
    assert templates == [Template(1, "E: a b <*> <*> <*>", 2), Template(2, "E: q b c d e", 1)]
    assert ids.to_list() == [1, 1, 2]


def test_exception_types_never_merge() -> None:
    messages = pl.Series(["RateLimitError: x 1", "APITimeoutError: x 1"])
    for depth in (3, 4, 6):
        templates, ids = mine(messages, depth=depth)
        assert _texts(templates) == ["APITimeoutError: x <NUM>", "RateLimitError: x <NUM>"]
        assert ids.to_list() == [1, 2]
    # At depth 3 drain3 has no prefix level at all: without an exception type the same
    # messages do merge, which shows the type key is what keeps them apart.
    templates, _ = mine(pl.Series(["RateLimit x 1", "APITimeout x 1"]), depth=3)
    assert _texts(templates) == ["<*> x <NUM>"]
    # A type with a digit goes to drain3's "<*>" branch, where "SSLError:" would find it.
    templates, _ = mine(pl.Series(["Http2Error: stream reset", "SSLError: stream reset"]))
    assert _texts(templates) == ["Http2Error: stream reset", "SSLError: stream reset"]


def test_prefix_tree_routes_digit_tokens_to_wildcard() -> None:
    templates, ids = mine(pl.Series(["user1 not found", "user2 not found"]))
    assert templates == [Template(1, "<*> not found", 2)]
    assert ids.to_list() == [1, 1]
    # Without digits the first tokens are separate branches and never compared.
    templates, _ = mine(pl.Series(["alice not found", "bob not found"]))
    assert _texts(templates) == ["alice not found", "bob not found"]


def test_max_children_overflow_goes_to_wildcard() -> None:
    messages = pl.Series(["a x y", "b x y", "c x y"])
    assert _texts(mine(messages)[0]) == ["a x y", "b x y", "c x y"]
    # With max_children=2 "b" opens the "<*>" child (drain3: len + 1 == max_children) and
    # "c" is routed there, meets "b x y" with similarity 2/3 and merges.
    templates, ids = mine(messages, max_children=2)
    assert templates == [Template(2, "<*> x y", 2), Template(1, "a x y", 1)]
    assert ids.to_list() == [1, 2, 2]


def test_depth_below_three_is_rejected() -> None:
    with pytest.raises(ValueError, match="depth"):
        mine(pl.Series(["a"]), depth=2)


# --- mining: ids, counts, nulls, determinism ----------------------------------------------


def test_counts_and_aligned_ids_with_nulls_and_empties() -> None:
    messages = pl.Series(
        "message", ["A: 1", None, "B: q r", "A: 2", "", "   ", "B: q r", "A: 3", "\t"]
    )
    templates, ids = mine(messages)
    assert templates == [Template(1, "A: <NUM>", 3), Template(2, "B: q r", 2)]
    assert ids.dtype == pl.Int64
    assert ids.name == "template_id"
    assert ids.to_list() == [1, None, 2, 1, None, None, 2, 1, None]


def test_sorted_by_count_then_text() -> None:
    messages = pl.Series(["Z: only", "B: two", "B: two", "A: one"])
    templates, _ = mine(messages)
    assert templates == [
        Template(2, "B: two", 2),
        Template(3, "A: one", 1),
        Template(1, "Z: only", 1),
    ]


def test_duplicates_are_weighted() -> None:
    messages = pl.Series(["E: boom 1"] * 1000 + ["F: other"] + ["E: boom 2"] * 5)
    templates, ids = mine(messages)
    assert templates == [Template(1, "E: boom <NUM>", 1005), Template(2, "F: other", 1)]
    assert ids.value_counts(sort=True)["count"].to_list() == [1005, 1]


def test_null_and_empty_inputs() -> None:
    templates, ids = mine(pl.Series([None, None]))
    assert templates == []
    assert ids.dtype == pl.Int64
    assert ids.to_list() == [None, None]
    templates, ids = mine(pl.Series("m", [], dtype=pl.String))
    assert templates == []
    assert ids.to_list() == []


def test_deterministic_and_ids_by_first_appearance() -> None:
    messages = ["C: z 1", "A: x", "B: y 2", "C: z 3", "A: x"]
    first = mine(pl.Series(messages))
    again = mine(pl.Series(messages))
    assert first[0] == again[0]
    assert first[1].to_list() == again[1].to_list()
    assert first[1].to_list() == [1, 2, 3, 1, 2]
    reordered = mine(pl.Series(list(reversed(messages))))
    assert reordered[1].to_list() == [1, 2, 3, 1, 2]
    assert {t.text: t.template_id for t in reordered[0]} == {
        "A: x": 1,
        "C: z <NUM>": 2,
        "B: y <NUM>": 3,
    }


def test_template_table() -> None:
    frame = pl.DataFrame({"id": [1, 2, 3, 4], "err": ["E: 1 bad", None, "E: 2 bad", "F: x"]})
    out = template_table(frame, message_column="err")
    assert out.columns == ["id", "err", "template", "template_id"]
    assert out.schema["template"] == pl.String
    assert out.schema["template_id"] == pl.Int64
    assert out["template"].to_list() == ["E: <NUM> bad", None, "E: <NUM> bad", "F: x"]
    assert out["template_id"].to_list() == [1, None, 1, 2]
    empty = template_table(pl.DataFrame({"message": [None]}, schema={"message": pl.String}))
    assert empty["template"].to_list() == [None]
    assert empty["template_id"].to_list() == [None]


# --- a realistic mini-corpus -------------------------------------------------------------------

_WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]
_MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4.1", "o3-mini", "claude-sonnet"]


def _hex(rng: random.Random, n: int) -> str:
    return "a" + "".join(rng.choice("0123456789abcdef") for _ in range(n - 1))


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _iso(rng: random.Random) -> str:
    return (
        f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"
    )


# (generator, expected template)
_SHAPES: list[tuple[Callable[[random.Random], str], str]] = [
    (
        lambda r: (
            f"RateLimitError: Rate limit reached for {r.choice(_MODELS)} in organization "
            f"org-{r.choice(_WORDS)}{r.randint(1, 99)} on requests per min (RPM): "
            f"Limit {r.randint(100, 999)}, Used {r.randint(100, 999)}, "
            f"Requested {r.randint(1, 9)}. Please try again in {r.randint(1, 999)}ms."
        ),
        "RateLimitError: Rate limit reached for <*> in organization <*> on requests per min "
        "(RPM): Limit <NUM>, Used <NUM>, Requested <NUM>. Please try again in <NUM>.",
    ),
    (
        lambda r: f"APITimeoutError: Request timed out after {r.randint(5, 120)}s",
        "APITimeoutError: Request timed out after <NUM>",
    ),
    (
        lambda r: (
            f"APITimeoutError: pool {r.choice(_WORDS)} exhausted ({r.randint(1, 50)} waiting)"
        ),
        "APITimeoutError: pool <*> exhausted (<NUM> waiting)",
    ),
    (
        lambda r: (
            f"APIConnectionError: Connection error: connect to 10.{r.randint(0, 255)}."
            f"{r.randint(0, 255)}.{r.randint(1, 254)}:{r.randint(1024, 65535)} failed"
        ),
        "APIConnectionError: Connection error: connect to <IP> failed",
    ),
    (
        lambda r: (
            "FileNotFoundError: [Errno 2] No such file or directory: "
            f"'/data/{r.choice(_WORDS)}/{r.choice(_WORDS)}-{r.randint(1, 9)}.json'"
        ),
        "FileNotFoundError: [Errno <NUM>] No such file or directory: '<PATH>'",
    ),
    (
        lambda r: f"KeyError: 'session {_uuid(r)} missing'",
        "KeyError: 'session <UUID> missing'",
    ),
    (
        lambda r: (
            f"BadRequestError: This model's maximum context length is {r.randint(4, 128)}000 "
            f"tokens. However, your messages resulted in {r.randint(130, 999)}000 tokens."
        ),
        "BadRequestError: This model's maximum context length is <NUM> tokens. However, your "
        "messages resulted in <NUM> tokens.",
    ),
    (
        lambda r: f"ValueError: invalid literal for int() with base 10: '{r.choice(_WORDS)}'",
        "ValueError: invalid literal for int() with base <NUM>: <*>",
    ),
    (
        lambda r: (
            f"TraceExportError: span {_hex(r, 16)} of trace {_hex(r, 32)} dropped at {_iso(r)}"
        ),
        "TraceExportError: span <HEX> of trace <HEX> dropped at <TIME>",
    ),
    (
        lambda r: (
            f"AuthenticationError: Incorrect API key provided for "
            f"{r.choice(_WORDS)}.{r.choice(_WORDS)}@example.com"
        ),
        "AuthenticationError: Incorrect API key provided for <EMAIL>",
    ),
    (
        lambda r: (
            f"Error code: {r.choice([400, 422])} - invalid 'temperature': "
            f"-{r.randint(1, 9)}.{r.randint(0, 9)} is less than the minimum of 0"
        ),
        "Error code: <NUM> - invalid 'temperature': <NUM> is less than the minimum of <NUM>",
    ),
    (
        lambda r: f"ToolError: tool {r.choice(_WORDS)} failed: {r.choice(_WORDS)}",
        "ToolError: tool <*> failed: <*>",
    ),
]


def test_mini_corpus_mines_back_to_its_shapes() -> None:
    rng = random.Random(20240501)
    shape_of: list[int] = []
    messages: list[str | None] = []
    for _ in range(600):
        k = rng.randrange(len(_SHAPES))
        shape_of.append(k)
        messages.append(_SHAPES[k][0](rng))
    templates, ids = mine(pl.Series("message", messages))

    expected = {text for _, text in _SHAPES}
    assert set(_texts(templates)) == expected
    assert len(templates) == len(_SHAPES)
    by_text = {t.text: t for t in templates}
    for k, (_, text) in enumerate(_SHAPES):
        assert by_text[text].count == shape_of.count(k)
    assert [t.count for t in templates] == sorted((t.count for t in templates), reverse=True)
    id_to_text = {t.template_id: t.text for t in templates}
    assert [id_to_text[i] for i in ids.to_list()] == [_SHAPES[k][1] for k in shape_of]
    # ids number the shapes in order of first appearance
    first_seen = list(dict.fromkeys(shape_of))
    assert [by_text[_SHAPES[k][1]].template_id for k in first_seen] == list(
        range(1, len(_SHAPES) + 1)
    )
