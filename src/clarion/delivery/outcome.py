"""The one small interface every delivery method and channel implements.

A sender gets one :class:`Outbound` message and answers :data:`Outcome`: ``Delivered``,
``Retry(reason, after)`` or ``Failed(reason)``. What happens next (another attempt, when,
or a permanent failure) is decided once, in :mod:`clarion.dispatch.retry`.
"""

from __future__ import annotations

import email.utils
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from clarion.render import Rendered


@dataclass(frozen=True)
class Delivered:
    detail: str = ""


@dataclass(frozen=True)
class Retry:
    """A failure that may heal: try again, not before ``after`` seconds if the provider said."""

    reason: str
    after: float | None = None


@dataclass(frozen=True)
class Failed:
    """A failure that cannot heal (bad address, refused credentials, rejected payload).

    ``gone``: the destination no longer exists (HTTP 410); its channel is switched off.
    """

    reason: str
    gone: bool = False


@dataclass(frozen=True)
class Defer:
    """Not attempted: the destination's rate limit has no room before ``after`` seconds.

    Deferring is not a failure and does not use up an attempt.
    """

    reason: str
    after: float


Outcome = Delivered | Retry | Failed | Defer


@dataclass(frozen=True)
class Recipient:
    """Who the message is for: a user (id, email, names) or, for team channels, empty."""

    user_id: str = ""
    email: str = ""
    name: str = ""
    username: str = ""


@dataclass(frozen=True)
class Outbound:
    """Everything a sender needs; senders never touch the database."""

    message_id: str
    event_type: str
    template_id: str
    template_name: str
    recipient: Recipient
    content: Rendered
    payload: Mapping[str, Any] = field(default_factory=dict)
    attempt: int = 1


class Sender(Protocol):
    """Deliver one message. Must not raise for provider failures: return an outcome."""

    async def send(self, message: Outbound) -> Outcome: ...


RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
REASON_BODY_LIMIT = 300


def trim(text: str, limit: int = REASON_BODY_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters with a visible ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def json_bytes(value: Any) -> int:
    """Size of ``value`` as the HTTP client sends it (compact, UTF-8)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def fit_json(text: str, room: int) -> str:
    """Cut ``text`` (with an ellipsis) until its JSON encoding takes at most ``room`` bytes."""
    size = json_bytes(text)
    while size > room and text:
        keep = min(len(text) * room // size, len(text) - 1)  # in proportion: bytes per char vary
        text = truncate(text, keep) if keep > 1 else ""
        size = json_bytes(text)
    return text


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:  # "inf" and "nan" parse as floats but are no wait at all
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify_http(
    status: int, headers: Mapping[str, str], body: str, *, provider: str = "server"
) -> Outcome:
    """The retry rule for HTTP providers, shared by every HTTP sender.

    2xx delivered; 408, 425, 429 and 5xx retry (honouring ``Retry-After``); any other status
    fails permanently, and 410 Gone also marks the destination dead. The reason names the
    status and a trimmed body.
    """
    if 200 <= status < 300:
        return Delivered(f"{provider} answered {status}")
    reason = f"{provider} answered HTTP {status}"
    if body.strip():
        reason += f": {trim(body)}"
    if status in RETRYABLE_STATUSES or status >= 500:
        return Retry(reason, after=parse_retry_after(headers.get("Retry-After")))
    if status == 410:
        return Failed(f"{reason} (the destination is gone; its channel is disabled)", gone=True)
    return Failed(reason)
