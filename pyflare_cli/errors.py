"""Errors that carry their exit code, so every command maps failures the same way.

Exit codes (DESIGN.md): 0 done, 1 a gate failed, 2 bad usage or unusable input,
3 internal error. Raise :class:`UsageError` for anything the user can fix; its message is
printed as one line naming what and where.
"""

from __future__ import annotations


class PyflareError(Exception):
    """Base class of the errors pyflare reports to the user (never with a traceback)."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(PyflareError):
    """Bad option, unreadable input, unknown trace id: exit code 2."""


class QuerySyntaxError(UsageError):
    """A search query that does not parse or names an unknown field.

    ``line`` and ``column`` are 1-based and point at the offending token. ``hint`` (a
    suggestion such as "did you mean 'model'?") follows the position in the message.
    """

    def __init__(
        self, message: str, line: int = 1, column: int = 1, hint: str | None = None
    ) -> None:
        text = f"{message} at {line}:{column}"
        super().__init__(f"{text}; {hint}" if hint else text)
        self.reason = message
        self.line = line
        self.column = column
        self.hint = hint


class GateFailed(PyflareError):
    """A threshold was breached: exit code 1."""

    exit_code = 1


class DamagedStore(UsageError):
    """A part or the catalog of a store cannot be read: exit 2 with the file named, and the
    way out (``pyflare store check`` / ``pyflare store repair``)."""


class StoreWriteError(PyflareError):
    """The store cannot be written (disk full, read-only): not the input's fault.

    Ingest stops rather than mark inputs as unreadable, and the receiver keeps the
    spooled data to retry it.
    """
