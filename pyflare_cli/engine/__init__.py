"""The engine seam: the same analyses on Polars (the default), DuckDB, Spark or ClickHouse.

An engine scans a time range of the spans with pruning, takes a small table (prices),
and collects several queries at once; the relational work runs where the spans are and
only small results come back as Polars frames, where the statistics and renderers take
over. See docs/scale.md.
"""
