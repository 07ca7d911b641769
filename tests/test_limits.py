"""The shared bounds: checks answer with a ValueError saying what is wrong, however deep or
far out of range the value is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from clarion.limits import MAX_DATA_DEPTH, check_json, parse_request_time, request_time


def test_nesting_past_the_interpreters_stack_is_a_value_error() -> None:
    value: Any = 1
    for _ in range(200_000):
        value = [value]
    with pytest.raises(ValueError, match=f"nested deeper than {MAX_DATA_DEPTH}"):
        check_json({"x": value})


def test_times_are_in_utc_or_refused() -> None:
    east = datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=14)))
    assert request_time(east) == datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
    assert parse_request_time("2026-11-23T10:00:00Z") == datetime(2026, 11, 23, 10, tzinfo=UTC)
    for text, says in [
        ("0001-01-01T00:00:00+14:00", "out of range"),
        ("9999-12-31T23:59:59-14:00", "out of range"),
        ("2026-11-23T10:00:00", "time zone"),
        ("x" * 1000, "is not a time"),
    ]:
        with pytest.raises(ValueError, match=says) as refused:
            parse_request_time(text)
        assert len(str(refused.value)) < 200
