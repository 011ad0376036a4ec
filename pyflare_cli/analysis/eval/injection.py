"""The ``injection`` evaluator: prompt-injection and jailbreak heuristics, each rule named.

Scanned: every span's input (what a user or a caller sent) and the output of retriever
and tool spans (documents and tool results that flow into a prompt: indirect injection).
Each :class:`Rule` is one case-insensitive regex with a weight; a span's score is the
largest weight among the rules it matches, its label ``injection`` (score >= 0.5),
``suspicious`` (> 0) or ``clean``, and its explanation the names of the matched rules.

The rules are heuristics: they catch the common phrasings (in English and a few other
languages), chat-template delimiters smuggled into text, invisible Unicode and encoded
payloads; a paraphrase they do not know passes. ``judge`` is the model-based check.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

VERSION = "1"
INDIRECT = ("retriever", "tool", "reranker")
"""Span types whose output is text that flows into a later prompt."""


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: str
    weight: float
    why: str


_OVERRIDE_EN = (
    r"\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,40}?"
    r"\b(?:previous|prior|above|earlier|preceding|all|any|your|the|system)\b[^.\n]{0,30}?"
    r"\b(?:instructions?|prompts?|rules|directions|directives|guidelines|guardrails|policies)\b"
)
_OVERRIDE_OTHER = (
    r"忽略(?:之前|以上|上面|上述|先前|所有)[^。\n]{0,10}(?:指令|指示|说明|提示|规则)"
    r"|無視して|以前の指示を無視"
    r"|игнорир\w*\s+(?:все\s+)?(?:предыдущие|прежние|вышеуказанные)\s+(?:инструкции|указания)"
    r"|ignor[ae]\w*\s+(?:todas\s+)?(?:las\s+)?instrucciones\s+(?:anteriores|previas)"
    r"|ignorier\w*\s+(?:alle\s+)?(?:vorherigen|bisherigen|obigen)\s+anweisungen"
    r"|ignor\w*\s+(?:toutes\s+)?(?:les\s+)?instructions\s+pr[ée]c[ée]dentes"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "instruction_override",
        rf"(?i)(?:{_OVERRIDE_EN})",
        0.9,
        "asks the model to drop its instructions",
    ),
    Rule(
        "instruction_override_multilingual",
        rf"(?i)(?:{_OVERRIDE_OTHER})",
        0.9,
        "the same in Chinese, Japanese, Russian, Spanish, German or French",
    ),
    Rule(
        "system_prompt_extraction",
        r"(?i)\b(?:reveal|show|print|repeat|output|display|leak|tell me|what (?:is|are|was|were))"
        r"\b[^.\n?]{0,40}?\b(?:system prompt|system message|initial (?:prompt|instructions)"
        r"|hidden (?:prompt|instructions)|your (?:instructions|system prompt|rules|prompt))"
        r"|(?i)\brepeat (?:the )?(?:words|text) above\b",
        0.8,
        "asks for the system prompt",
    ),
    Rule(
        "role_play_jailbreak",
        r"(?i)\b(?:do anything now|DAN mode|developer mode (?:enabled|on)|jailbreak(?:ed)?"
        r"|you are no longer (?:an? )?(?:ai|assistant|bound)|without any (?:restrictions|filters)"
        r"|(?:pretend|act) (?:to be|as|you are) (?:an? )?"
        r"(?:unrestricted|unfiltered|uncensored|evil)"
        r"|from now on,? you (?:are|will|must) (?:act|respond|answer) as)\b",
        0.8,
        "role-play that sheds the model's rules",
    ),
    Rule(
        "chat_template_tokens",
        r"\[/?INST\]|<<\s*/?SYS\s*>>|<\|im_(?:start|end)\|>|<\|(?:system|user|assistant)\|>"
        r"|<\|start_header_id\|>|<\|eot_id\|>|<\|endoftext\|>|<start_of_turn>",
        0.7,
        "chat-template delimiters that fake a new turn",
    ),
    Rule(
        "invisible_unicode",
        r"[\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}\x{2066}-\x{2069}\x{FEFF}"
        r"\x{E0000}-\x{E007F}]",
        0.6,
        "zero-width, bidi-override or tag characters that hide text",
    ),
    Rule(
        "encoded_payload",
        r"(?:[A-Za-z0-9+/]{4}){20,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
        r"|(?:\\x[0-9A-Fa-f]{2}){16,}|(?:%[0-9A-Fa-f]{2}){16,}"
        r"|(?i)\b(?:decode|base64|rot13)\b[^.\n]{0,30}"
        r"\b(?:and (?:follow|execute|run)|instructions)",
        0.5,
        "a long base64/hex/percent-encoded run, or a request to decode and follow",
    ),
)


def _scanned() -> pl.Expr:
    """Inputs of every span, and outputs of retriever/tool spans."""
    indirect = pl.col("ai_kind").is_in(INDIRECT)
    output = pl.when(indirect).then(pl.col("output_text")).otherwise(None)
    return pl.concat_str(pl.col("input_text").fill_null(""), output.fill_null(""), separator="\n")


def injection_results(spans: pl.LazyFrame) -> pl.LazyFrame:
    """Score, label, explanation (matched rules) and details per span with text."""
    text = pl.col("_text")
    hits = [pl.when(text.str.contains(rule.pattern)).then(pl.lit(rule.name)) for rule in RULES]
    weights = [pl.when(text.str.contains(rule.pattern)).then(rule.weight) for rule in RULES]
    score = pl.max_horizontal(weights).fill_null(0.0)
    has_text = pl.col("input_text").is_not_null() | (
        pl.col("ai_kind").is_in(INDIRECT) & pl.col("output_text").is_not_null()
    )
    return (
        spans.filter(has_text)
        .select(
            "trace_id", "span_id", pl.col("start_time").alias("time"), _scanned().alias("_text")
        )
        .with_columns(pl.concat_list(hits).list.drop_nulls().alias("rules"), score.alias("score"))
        .select(
            "trace_id",
            "span_id",
            "time",
            "score",
            pl.when(pl.col("score") >= 0.5)
            .then(pl.lit("injection"))
            .when(pl.col("score") > 0)
            .then(pl.lit("suspicious"))
            .otherwise(pl.lit("clean"))
            .alias("label"),
            pl.col("rules").list.join(", ").alias("explanation"),
            pl.struct(pl.col("rules")).struct.json_encode().alias("details"),
        )
    )
