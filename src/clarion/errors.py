"""The domain's errors: what went wrong, in words, without any transport's status codes.

Domain modules raise these; the API maps them to HTTP statuses in one place
(:mod:`clarion.api.errors`), and the pages to error pages in one place.
"""

from __future__ import annotations


class ClarionError(Exception):
    """A refusal the caller can act on; the message says what was wrong and what to do."""


class NotFound(ClarionError):
    """The thing named does not exist (or is not the caller's to see)."""


class Conflict(ClarionError):
    """The request clashes with the current state (a name taken, a message already sent)."""


class Unauthenticated(ClarionError):
    """The caller did not prove who it is (no credential, a wrong one, or a stale one)."""


class Forbidden(ClarionError):
    """The caller may not do this."""


class Invalid(ClarionError):
    """An input is wrong; ``field`` names it (``events[1].labels.name``)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
