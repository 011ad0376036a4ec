"""The ingest pipeline: decode -> normalise -> redact -> sample -> commit to the store."""
