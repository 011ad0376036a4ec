"""Alert notifications: targets, grouping and pacing, payloads, the outbox and HTTP delivery."""
