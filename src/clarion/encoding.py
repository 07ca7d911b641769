"""JSON on the hot paths (stored payloads, outbound bodies, log lines, intake answers): orjson.

orjson rather than the standard library's ``json`` for speed: every claimed message's
payload is decoded and every webhook body encoded. Output is compact UTF-8.
The few places that need a byte-stable encoding (the dedupe hash) keep ``json``.
"""

from __future__ import annotations

from typing import Any

import orjson

loads = orjson.loads


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON bytes."""
    return orjson.dumps(value)


def dumps_text(value: Any) -> str:
    """Compact JSON as ``str`` (SQLAlchemy's JSON columns want text)."""
    return orjson.dumps(value).decode()


def dumps_text_or_none(value: Any) -> str | None:
    """``dumps_text``, keeping None as SQL NULL (not the JSON text ``null``)."""
    return None if value is None else dumps_text(value)


def dumps_for_log(value: Any, default: Any = None, **_: Any) -> str:
    """structlog's JSONRenderer serializer: anything orjson cannot encode goes through
    ``default`` (structlog's fallback, ``repr``), and non-string keys are allowed."""
    return orjson.dumps(value, default=default, option=orjson.OPT_NON_STR_KEYS).decode()
