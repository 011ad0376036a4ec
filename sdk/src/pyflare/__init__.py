"""pyflare SDK: one call to trace an LLM/ML app into pyflare, on OpenTelemetry.

```python
import pyflare

pyflare.init(service_name="support-bot", instrument="auto")

@pyflare.trace(kind="tool")
def search(query: str) -> list[str]: ...

with pyflare.attributes(user_id="u-42", session_id="s-7", feature="search"):
    answer(question)
```

Spans carry the current OTel GenAI attribute names (and OpenInference span kinds where
GenAI has none), which ``pyflare ingest`` and ``pyflare receive`` read first. This package
does not depend on the pyflare CLI; its integrations import their frameworks lazily.
"""

from __future__ import annotations

from pyflare.bootstrap import Handle, active, init
from pyflare.context import attributes, bind
from pyflare.decorators import trace_fn as trace
from pyflare.redaction import Redaction
from pyflare.spans import record_usage, set_input, set_output, span
from pyflare.version import __version__

__all__ = [
    "Handle",
    "Redaction",
    "__version__",
    "active",
    "attributes",
    "bind",
    "init",
    "record_usage",
    "set_input",
    "set_output",
    "span",
    "trace",
]
