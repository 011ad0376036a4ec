"""Deterministic demo data: realistic LLM-application traces as OTLP requests.

``pyflare demo``, the tests and the benchmarks all need traces that look like production
(several services, two attribute conventions, errors, and known incidents to find), and that
go through the same decode path as real input. :func:`generate_requests` builds them as OTLP
protobuf messages; :func:`write_requests` writes them in the formats pyflare ingests; the
world they are drawn from, incidents included, is :data:`DEFAULT_WORLD` in ``scenario``.
"""

from pyflare_cli.demo.generator import generate_requests
from pyflare_cli.demo.scenario import DEFAULT_WORLD, World
from pyflare_cli.sources.otlp_wire import request_to_otlp_json, write_requests

__all__ = ["DEFAULT_WORLD", "World", "generate_requests", "request_to_otlp_json", "write_requests"]
