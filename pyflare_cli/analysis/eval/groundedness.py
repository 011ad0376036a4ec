"""The ``groundedness`` evaluator: how much of a RAG answer the retrieved documents support.

No model: each sentence of an LLM span's output is supported when at least
:data:`SUPPORTED` of its content words (Unicode words of three or more characters that
are not stop words; character bigrams in Chinese and Japanese) occur in the documents
retrieved in the same trace (the output of retriever spans and OpenInference
``retrieval.documents.N.document.content`` attributes). The score is the share of
supported sentences; the explanation lists the unsupported ones. Outputs that are JSON
(tool calls, structured answers) are not prose and are skipped. Spans of traces that
retrieved nothing are not scored (no documents, no verdict). Word overlap misses
paraphrase and contradiction; ``judge`` catches those.
"""

from __future__ import annotations

import polars as pl

VERSION = "2"
"""2: Chinese and Japanese text is compared by character bigrams (1 took a whole run of
ideographs between punctuation for one word, so such a sentence was never supported)."""
SUPPORTED = 0.5
CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\x{30FC}"
"""Scripts written without spaces: ideographs, kana and the prolonged sound mark."""
WORD = rf"[\w--[{CJK}]]{{3,}}"
"""A content word of a script with spaces: three or more word characters."""
BIGRAM = rf"[{CJK}]{{2}}"
RUN_START = rf"(^|[^{CJK}])[{CJK}]"
"""The first character of each run of :data:`CJK`: dropping it shifts the bigrams by one."""
SENTENCE = r"[^.!?\x{3002}\x{FF01}\x{FF1F}\n]+[.!?\x{3002}\x{FF01}\x{FF1F}]?"
"""A sentence ends at . ! ? or the ideographic full stop and full-width ! ?."""
DOCUMENT_KEY = r"^retrieval\.documents\.\d+\.document\.content$"
STOP_WORDS = (
    "the", "and", "for", "are", "but", "not", "you", "your", "our", "with", "this", "that",
    "from", "have", "has", "was", "were", "will", "can", "all", "any", "its", "into", "than",
    "then", "there", "their", "they", "them", "what", "when", "which", "who", "how", "here",
    "also", "been", "being", "would", "could", "should", "about", "more", "some", "such",
)  # fmt: skip


def _words(text: pl.Expr) -> pl.Expr:
    """The distinct content words of ``text``: words of three or more characters (not stop
    words), and every overlapping character bigram of Chinese and Japanese runs (the
    usual unit of Chinese retrieval: ``退货政策`` gives ``退货``, ``货政``, ``政策``)."""
    lower = text.str.to_lowercase()
    shifted = lower.str.replace_all(RUN_START, "${1}")
    return (
        pl.concat_list(
            lower.str.extract_all(WORD),
            lower.str.extract_all(BIGRAM),
            shifted.str.extract_all(BIGRAM),
        )
        .list.eval(pl.element().filter(~pl.element().is_in(STOP_WORDS)))
        .list.unique()
    )


def documents(spans: pl.LazyFrame) -> pl.LazyFrame:
    """(trace_id, words): the distinct content words of each trace's retrieved documents."""
    outputs = spans.filter(pl.col("ai_kind") == "retriever").select(
        "trace_id", pl.col("output_text").alias("text")
    )
    attributes = (
        spans.filter(pl.col("ai_kind") == "retriever")
        .select("trace_id", pl.col("attributes").map.entries().alias("kv"))
        .explode("kv")
        .unnest("kv")
        .filter(pl.col("key").str.contains(DOCUMENT_KEY))
        .select("trace_id", pl.col("value").alias("text"))
    )
    return (
        pl.concat([outputs, attributes])
        .drop_nulls("text")
        .group_by("trace_id")
        .agg(pl.col("text").str.join(" "))
        .select("trace_id", _words(pl.col("text")).alias("doc_words"))
    )


def groundedness_results(spans: pl.LazyFrame) -> pl.LazyFrame:
    """Score, label, unsupported sentences per LLM span of a trace that retrieved documents."""
    structured = pl.col("output_text").str.contains(r"^\s*[\[{]")  # tool calls, JSON
    answers = spans.filter(
        (pl.col("ai_kind") == "llm") & pl.col("output_text").is_not_null() & ~structured
    )
    sentences = (
        answers.select(
            "trace_id",
            "span_id",
            pl.col("start_time").alias("time"),
            pl.col("output_text").str.extract_all(SENTENCE).alias("sentence"),
        )
        .join(documents(spans), on="trace_id", how="inner")
        .explode("sentence")
        .with_columns(pl.col("sentence").str.strip_chars())
        .filter(pl.col("sentence").str.len_chars() > 0)
        .with_columns(_words(pl.col("sentence")).alias("words"))
        .filter(pl.col("words").list.len() > 0)
        .with_columns(
            (
                pl.col("words").list.set_intersection(pl.col("doc_words")).list.len()
                / pl.col("words").list.len()
                >= SUPPORTED
            ).alias("supported")
        )
    )
    return (
        sentences.group_by("trace_id", "span_id", maintain_order=True)
        .agg(
            pl.col("time").first(),
            pl.col("supported").mean().alias("score"),
            pl.col("sentence").filter(~pl.col("supported")).alias("unsupported"),
            pl.len().alias("sentences"),
        )
        .select(
            "trace_id",
            "span_id",
            "time",
            "score",
            pl.when(pl.col("score") >= 0.8)
            .then(pl.lit("grounded"))
            .otherwise(pl.lit("ungrounded"))
            .alias("label"),
            pl.col("unsupported").list.join(" | ").alias("explanation"),
            pl.struct("sentences", "unsupported").struct.json_encode().alias("details"),
        )
    )
