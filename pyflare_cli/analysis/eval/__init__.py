"""Evaluations of LLM outputs, pure: scores read from every convention into one table,
pyflare's own offline evaluators (pii, injection, groundedness) as Polars expressions,
the judge's prompts and answer parsing, summaries, the CI gate and the health score."""
