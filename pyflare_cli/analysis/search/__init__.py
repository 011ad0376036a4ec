"""The search query language: its fields, parser, time bounds and compiler to Polars."""
