r"""Drain-style template mining for error messages (the "failure clusters" of ``pyflare rca``).

Two stages, as in drain3's ``TemplateMiner``:

1. **Masking** (:func:`mask`), vectorised with Polars ``str.replace_all`` over the whole
   Series. Each rule replaces a variable by a named placeholder, in this order: ``<URL>``,
   ``<PATH>`` (Unix and Windows), ``<UUID>``, ``<HEX>`` (``0x...`` and runs of 8+ hex
   characters with at least one letter: trace/span ids, digests), ``<IP>`` (IPv4 with an
   optional port), ``<EMAIL>``, ``<TIME>`` (ISO dates, date-times and clock times) and
   ``<NUM>`` (integers, decimals, exponents, signed numbers and numbers with a unit such as
   ``30s``, ``512ms`` or ``95%``). Quoted strings are left alone. Like drain3's example masks,
   the id and number rules only match whole words (``\b`` on both sides, an underscore
   also counts as a boundary on the left), so ``gpt-4o-mini`` and ``org-abc123`` stay.
2. **Drain** (He et al., ICWS 2017) exactly as ``drain3.drain.Drain`` does it: messages split
   on whitespace; a prefix tree whose first level is the token count, then ``depth - 2``
   levels of leading tokens (tokens containing a digit go to a ``<*>`` child, and so does a
   token once a node has ``max_children`` children), and clusters at the leaves. A message
   joins the leaf cluster with the highest similarity (share of equal, non-``<*>`` template
   tokens; ties go to the template with more ``<*>``) if it is ``>= sim_th``, and the tokens
   that differ become ``<*>``; otherwise it starts a new cluster. One deliberate addition:
   the first level is keyed on the token count *and* the exception type (the leading
   ``SomeError:`` token, see :func:`exception_type`), so two exception types never share a
   template, even where drain3 would route them into the same ``<*>`` branch.

The tree is walked in Python, but once per *distinct masked* message, weighted by how many
messages it stands for, in order of first appearance. Cluster ids are therefore assigned by
first appearance in the input and the result is deterministic. A duplicate is assigned the
cluster its first occurrence joined (drain3, fed the full stream, would compare it again
against the by then more general template). ``max_clusters`` (LRU eviction), persistence and
parameter extraction of drain3 are not implemented.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

PARAM = "<*>"
"""The wildcard Drain puts in place of tokens that differ (drain3's ``param_str``)."""

_HEXC = "[0-9a-fA-F]"


@dataclass(frozen=True)
class Template:
    """One mined template: its id (first appearance), its text and how many messages it holds."""

    template_id: int
    text: str
    count: int


def _bounded(body: str) -> str:
    r"""``body`` as a whole word: word boundaries (``\b``) on both sides.

    The Rust regex engine behind Polars has no look-around; ``\b`` is zero-width, so
    neighbours sharing one separator (``1,2,3``) all match in a single pass. An underscore on
    the left also counts as a boundary (``req_<HEX>``, ``user_<NUM>``, as in drain3's example
    masks); it is consumed and put back through the ``pre`` group.
    """
    return rf"(?:(?P<pre>_)|\b)(?:{body})\b"


def _hex_with_letter() -> str:
    """8 or more hex characters of which at least one is a letter (all digits is a number)."""
    alternatives = [rf"\d{{{k}}}[a-fA-F]{_HEXC}{{{7 - k},}}" for k in range(8)]
    alternatives.append(rf"\d{{8,}}[a-fA-F]{_HEXC}*")
    return "|".join(alternatives)


# A path segment: word-ish runs joined by dots, never ending with one ("x.log." -> "x.log").
_SEGMENT = r"\.*[\w@%+~-]+(?:\.+[\w@%+~-]+)*"
_URL_CHAR = r"""[^\s"'<>()\[\]{}]"""
_URL_END = r"""[^\s"'<>()\[\]{}.,;:!?]"""
_WIN_CHAR = r"""[^\s"'<>|]"""
_WIN_END = r"""[^\s"'<>|.,;:!?]"""
_NUMBER = r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_UNIT = (
    r"(?i:ms|us|µs|ns|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d"
    r"|kib|kb|k|mib|mb|gib|gb|tb|b)?"
)
_DATE = r"\d{4}-\d{2}-\d{2}"
_CLOCK = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
_ZONE = r"(?:Z|[+-]\d{2}(?::?\d{2})?)?"
_PATH_LEAD = r"""[\s"'`=(\[{,:]"""

# (pattern, replacement), applied in this order, each in one vectorised pass.
_MASK_STEPS: tuple[tuple[str, str], ...] = (
    (rf"\b[A-Za-z][A-Za-z0-9+.-]*://(?:{_URL_CHAR}*{_URL_END})?", "<URL>"),
    (rf"\b[A-Za-z]:\\(?:{_WIN_CHAR}*{_WIN_END})?", "<PATH>"),
    (rf"(?P<pre>^|{_PATH_LEAD})(?:~|\.{{1,2}})?(?:/{_SEGMENT})+/?", "${pre}<PATH>"),
    (
        _bounded(rf"{_HEXC}{{8}}-{_HEXC}{{4}}-{_HEXC}{{4}}-{_HEXC}{{4}}-{_HEXC}{{12}}"),
        "${pre}<UUID>",
    ),
    (_bounded(rf"0[xX]{_HEXC}+|{_hex_with_letter()}"), "${pre}<HEX>"),
    (_bounded(r"\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?"), "${pre}<IP>"),
    (r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", "<EMAIL>"),
    (_bounded(rf"{_DATE}(?:[T ]{_CLOCK})?{_ZONE}|{_CLOCK}{_ZONE}"), "${pre}<TIME>"),
    # A sign belongs to the number only after the start, a space, a bracket, '=', ':' or ','
    # ("x -5", "t=-0.5"); in "gpt-4" or "1-5" the dash is a separator.
    (rf"(?P<pre>^|[\s(\[{{=:,])[-+]{_NUMBER}{_UNIT}\b%?", "${pre}<NUM>"),
    (rf"{_bounded(_NUMBER + _UNIT)}%?", "${pre}<NUM>"),
)

_EXCEPTION_TYPE = r"^\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*):(?:\s|$)"


def mask(messages: pl.Series) -> pl.Series:
    """Replace URLs, paths, UUIDs, hex ids, IPs, e-mails, times and numbers by placeholders.

    Vectorised over the Series (no Python loop per message); nulls stay null, the name is kept.
    """
    out = messages.cast(pl.String)
    for pattern, replacement in _MASK_STEPS:
        out = out.str.replace_all(pattern, replacement)
    return out.alias(messages.name)


def exception_type(messages: pl.Series) -> pl.Series:
    """The leading exception type of ``"Type: detail"`` messages, else null.

    ``"openai.RateLimitError: Rate limit reached"`` -> ``"openai.RateLimitError"``; the type is
    a (dotted) identifier directly followed by ``:`` and whitespace or the end of the message.
    """
    return messages.cast(pl.String).str.extract(_EXCEPTION_TYPE, 1).alias(messages.name)


class _Node:
    __slots__ = ("children", "cluster_ids")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.cluster_ids: list[int] = []


class _Cluster:
    __slots__ = ("cluster_id", "size", "tokens")

    def __init__(self, tokens: tuple[str, ...], cluster_id: int, size: int) -> None:
        self.tokens = tokens
        self.cluster_id = cluster_id
        self.size = size


def _has_numbers(token: str) -> bool:
    return any(char.isdigit() for char in token)


class _Drain:
    """drain3's ``Drain`` (``parametrize_numeric_tokens=True``, no ``max_clusters``)."""

    def __init__(self, sim_th: float, depth: int, max_children: int) -> None:
        if depth < 3:
            raise ValueError("depth must be at least 3")
        self.sim_th = sim_th
        self.max_node_depth = depth - 2
        self.max_children = max_children
        self.roots: dict[tuple[int, str | None], _Node] = {}
        self.clusters: list[_Cluster] = []  # cluster_id - 1 -> cluster

    def add(self, tokens: tuple[str, ...], kind: str | None, weight: int) -> int:
        """Add a (non-empty) message seen ``weight`` times; return its cluster id."""
        key = (len(tokens), kind)
        match = self._tree_search(key, tokens)
        if match is None:
            cluster = _Cluster(tokens, len(self.clusters) + 1, weight)
            self.clusters.append(cluster)
            self._add_to_tree(key, cluster)
            return cluster.cluster_id
        match.tokens = tuple(
            old if new == old else PARAM for new, old in zip(tokens, match.tokens, strict=True)
        )
        match.size += weight
        return match.cluster_id

    def _tree_search(self, key: tuple[int, str | None], tokens: Sequence[str]) -> _Cluster | None:
        node = self.roots.get(key)
        if node is None:
            return None
        token_count = len(tokens)
        depth = 1
        for token in tokens:
            if depth >= self.max_node_depth or depth == token_count:
                break
            child = node.children.get(token)
            if child is None:
                child = node.children.get(PARAM)
            if child is None:
                return None
            node = child
            depth += 1
        return self._fast_match(node.cluster_ids, tokens)

    def _add_to_tree(self, key: tuple[int, str | None], cluster: _Cluster) -> None:
        node = self.roots.get(key)
        if node is None:
            node = self.roots[key] = _Node()
        token_count = len(cluster.tokens)
        depth = 1
        for token in cluster.tokens:
            if depth >= self.max_node_depth or depth >= token_count:
                node.cluster_ids.append(cluster.cluster_id)
                return
            children = node.children
            if token in children:
                node = children[token]
            elif _has_numbers(token):
                node = children.setdefault(PARAM, _Node())
            elif PARAM in children:
                if len(children) < self.max_children:
                    node = children[token] = _Node()
                else:
                    node = children[PARAM]
            elif len(children) + 1 < self.max_children:
                node = children[token] = _Node()
            elif len(children) + 1 == self.max_children:
                node = children[PARAM] = _Node()
            else:
                node = children[PARAM]
            depth += 1
        node.cluster_ids.append(cluster.cluster_id)  # not reached: the loop stops at the leaf

    def _fast_match(self, cluster_ids: Sequence[int], tokens: Sequence[str]) -> _Cluster | None:
        best: _Cluster | None = None
        best_sim = -1.0
        best_params = -1
        n = len(tokens)
        for cluster_id in cluster_ids:
            cluster = self.clusters[cluster_id - 1]
            same = 0
            params = 0
            for old, new in zip(cluster.tokens, tokens, strict=True):
                if old == PARAM:
                    params += 1
                elif old == new:
                    same += 1
            sim = same / n
            if sim > best_sim or (sim == best_sim and params > best_params):
                best, best_sim, best_params = cluster, sim, params
        return best if best_sim >= self.sim_th else None


def mine(
    messages: pl.Series, sim_th: float = 0.4, depth: int = 4, max_children: int = 100
) -> tuple[list[Template], pl.Series]:
    """Mine Drain templates from ``messages`` (masked first, see :func:`mask`).

    Returns the templates, sorted by count (descending) then text, and an Int64 Series aligned
    with ``messages`` holding each message's ``template_id`` (null for null, empty or
    whitespace-only messages). Ids number the templates by first appearance in the input.
    """
    drain = _Drain(sim_th, depth, max_children)
    raw = messages.cast(pl.String)
    # Mask each distinct raw message once, then mine each distinct masked message once.
    distinct = (
        pl.DataFrame({"raw": raw})
        .group_by("raw", maintain_order=True)
        .agg(pl.len().alias("n"))
        .filter(pl.col("raw").str.strip_chars() != "")
    )
    distinct = distinct.with_columns(mask(distinct["raw"]).alias("masked"))
    masked = distinct.group_by("masked", maintain_order=True).agg(pl.col("n").sum())
    kinds = exception_type(masked["masked"])
    ids = [
        drain.add(tuple(text.split()), kind, weight)
        for text, kind, weight in zip(
            masked["masked"].to_list(), kinds.to_list(), masked["n"].to_list(), strict=True
        )
    ]
    masked_ids = pl.DataFrame(
        {"masked": masked["masked"], "template_id": pl.Series(ids, dtype=pl.Int64)}
    )
    raw_ids = distinct.join(masked_ids, on="masked", how="left")
    template_ids = raw.replace_strict(
        old=raw_ids["raw"],
        new=raw_ids["template_id"],
        default=None,
        return_dtype=pl.Int64,
    ).alias("template_id")
    templates = [Template(c.cluster_id, " ".join(c.tokens), c.size) for c in drain.clusters]
    templates.sort(key=lambda t: (-t.count, t.text))
    return templates, template_ids


def template_table(frame: pl.DataFrame, message_column: str = "message") -> pl.DataFrame:
    """``frame`` plus a ``template`` (String) and a ``template_id`` (Int64) column, by mine()."""
    templates, ids = mine(frame[message_column])
    text = ids.replace_strict(
        old=pl.Series([t.template_id for t in templates], dtype=pl.Int64),
        new=pl.Series([t.text for t in templates], dtype=pl.String),
        default=None,
        return_dtype=pl.String,
    )
    return frame.with_columns(text.alias("template"), ids.alias("template_id"))
