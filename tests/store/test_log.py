"""Log cursors: only what a previous page handed out is accepted."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest

from clarion.store.log import CursorError, decode_cursor, encode_cursor


def test_a_cursor_round_trips() -> None:
    when, ident = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC), uuid.uuid4()
    assert decode_cursor(encode_cursor(when, ident)) == (when, ident)


@pytest.mark.parametrize(
    "raw",
    [
        "2026-11-23T10:00:00|" + str(uuid.uuid4()),  # no time zone: not one of ours
        "yesterday|" + str(uuid.uuid4()),
        "2026-11-23T10:00:00+00:00|not-a-uuid",
        "no separator",
        # In range as written, out of datetime's range once in UTC.
        "0001-01-01T00:00:00+14:00|" + str(uuid.uuid4()),
        "9999-12-31T23:59:59-14:00|" + str(uuid.uuid4()),
    ],
)
def test_anything_else_is_refused(raw: str) -> None:
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    with pytest.raises(CursorError):
        decode_cursor(cursor)
