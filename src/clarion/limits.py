"""How much one request may carry, and which times it may name: the bounds shared by the
API's models, the pages' forms and the query parameters of both.

Whatever an event carries is stored once per recipient and channel, so each part of it has
a bound of its own, well inside the request body's. A time or offset past what the
databases (or Python's datetime) hold is refused as bad input, never left to fail the query.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

# Request bodies: the API's (a batch of events is the largest), and the pages' forms.
MAX_REQUEST_BYTES = 1024 * 1024
MAX_FORM_BYTES = 64 * 1024

# Names people type: users, channels, tokens, event types.
NAME_LENGTH = 200
EMAIL_LENGTH = 320  # RFC 5321's longest path
KEY_LENGTH = 100  # event type keys, label keys, kinds of things

# An event's parts.
MAX_LABELS = 64
LABEL_VALUE_LENGTH = 2048
MAX_DATA_BYTES = 64 * 1024
MAX_DATA_DEPTH = 32
MAX_TARGETS = 100
IDEMPOTENCY_KEY_LENGTH = 200
MAX_BATCH = 1000

# Query parameters: offsets fit a 32-bit integer on every engine; windows reach back ten years.
MAX_OFFSET = 2**31 - 1
MAX_WINDOW = timedelta(days=3650)


def shown_key(key: str) -> str:
    """A key for an error message, cut short: the key itself may be what is too long."""
    return repr(key if len(key) <= 40 else key[:40] + "…")


def check_labels(labels: dict[str, str]) -> None:
    """Raises ValueError naming the label that is out of bounds."""
    if len(labels) > MAX_LABELS:
        raise ValueError(f"{len(labels)} labels; at most {MAX_LABELS}")
    for key, value in labels.items():
        if len(key) > KEY_LENGTH:
            raise ValueError(f"key {shown_key(key)}: at most {KEY_LENGTH} characters")
        if len(value) > LABEL_VALUE_LENGTH:
            raise ValueError(
                f"{shown_key(key)} is {len(value)} characters long; at most {LABEL_VALUE_LENGTH}"
            )


def _depth(value: Any) -> int:
    """How deeply ``value`` nests objects and arrays, counted without recursing (a value
    nested past the interpreter's stack must get an answer, not a RecursionError)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if level > MAX_DATA_DEPTH:
            return level
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_json(value: Any) -> None:
    """A free-form JSON value that can be stored: nesting, size, and what JSON storage takes
    (integers within 64 bits). Raises ValueError saying which bound it passed."""
    depth = _depth(value)
    if depth > MAX_DATA_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DATA_DEPTH} levels")
    try:
        size = len(orjson.dumps(value))
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"cannot be stored as JSON: {exc}") from None
    if size > MAX_DATA_BYTES:
        raise ValueError(f"{size} bytes as JSON; at most {MAX_DATA_BYTES}")


def request_time(value: datetime) -> datetime:
    """A time from a request, in UTC. Raises ValueError for a time without a zone, or one
    that lies outside the years 1 to 9999 once in UTC (``0001-01-01T00:00+14:00``)."""
    if value.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2026-11-23T10:00:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range: give a time between the years 1 and 9999") from None


def parse_request_time(text: str) -> datetime:
    """An ISO 8601 time with a zone, from a query, in UTC; ValueError names what is wrong."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a time: write e.g. 2026-11-23T10:00:00Z") from None
    return request_time(parsed)
