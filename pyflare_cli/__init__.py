"""pyflare: trace analysis for LLM and ML workloads, from a local Parquet span store."""

__version__ = "0.1.0"
