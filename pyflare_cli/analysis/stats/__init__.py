"""Usage analytics: requests, errors, latency percentiles, tokens and cost per group and
period (``pyflare stats``), sessions and users, tool sequences.

Relational parts (:mod:`units`, :mod:`figures`, :mod:`sessions`, :mod:`sequences`) take
and return lazy frames; :mod:`gate` works on the small result frames.
"""
