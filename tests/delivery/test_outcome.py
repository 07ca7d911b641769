"""The HTTP retry rule (`classify_http`) and Retry-After parsing, on their own."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from clarion.delivery.outcome import (
    REASON_BODY_LIMIT,
    Delivered,
    Failed,
    Retry,
    classify_http,
    parse_retry_after,
)
from clarion.dispatch.retry import MAX_RETRY_AFTER, RetryPolicy, decide
from clarion.store.tables import TEMPORARY_FAILURE

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
NO_HEADERS: dict[str, str] = {}


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    outcome = classify_http(status, NO_HEADERS, "ignored", provider="Slack")
    assert outcome == Delivered(f"Slack answered {status}")


@pytest.mark.parametrize("status", [408, 425, 429])
def test_timeout_too_early_and_too_many_requests_retry(status: int) -> None:
    outcome = classify_http(status, NO_HEADERS, "slow down")
    assert outcome == Retry(f"server answered HTTP {status}: slow down", after=None)


@pytest.mark.parametrize("status", [500, 501, 502, 503, 504, 507, 599])
def test_5xx_retries(status: int) -> None:
    assert isinstance(classify_http(status, NO_HEADERS, ""), Retry)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 415, 422, 451])
def test_other_4xx_fail_for_good(status: int) -> None:
    outcome = classify_http(status, NO_HEADERS, '{"error": "bad"}', provider="Discord")
    assert outcome == Failed(f'Discord answered HTTP {status}: {{"error": "bad"}}', gone=False)


def test_410_fails_and_marks_the_destination_gone() -> None:
    outcome = classify_http(410, NO_HEADERS, "")
    assert isinstance(outcome, Failed)
    assert outcome.gone
    assert outcome.reason.startswith("server answered HTTP 410 ")
    assert "gone" in outcome.reason


@pytest.mark.parametrize("status", [100, 301, 302, 304])
def test_informational_and_redirect_answers_fail(status: int) -> None:
    # The client does not follow redirects to a destination nobody checked: not delivered.
    assert isinstance(classify_http(status, NO_HEADERS, ""), Failed)


def test_the_reason_carries_a_trimmed_one_line_body() -> None:
    body = "line one\n\n   line   two\t" + "x" * 1000
    outcome = classify_http(400, NO_HEADERS, body)
    assert isinstance(outcome, Failed)
    shown = outcome.reason.removeprefix("server answered HTTP 400: ")
    assert shown.startswith("line one line two x")
    assert len(shown) == REASON_BODY_LIMIT and shown.endswith("…")
    assert "\n" not in outcome.reason


def test_a_blank_body_adds_nothing_to_the_reason() -> None:
    assert classify_http(503, NO_HEADERS, " \n ") == Retry("server answered HTTP 503")


def test_retry_after_is_honoured_on_retryable_answers_only() -> None:
    headers = CIMultiDict({"retry-after": "30"})  # the client's headers ignore case
    assert classify_http(429, headers, "") == Retry("server answered HTTP 429", after=30.0)
    assert classify_http(503, headers, "") == Retry("server answered HTTP 503", after=30.0)
    assert classify_http(400, headers, "") == Failed("server answered HTTP 400")


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("  7 ") == 7.0
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("1.5") == 1.5


def test_retry_after_as_an_http_date() -> None:
    later = "Sun, 01 Mar 2026 12:01:30 GMT"
    assert parse_retry_after(later, now=NOW) == 90.0
    # A date already past means "now", not a negative wait.
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now=NOW) == 0.0
    # A date with an offset is read in that zone.
    assert parse_retry_after("Sun, 01 Mar 2026 13:00:10 +0100", now=NOW) == 10.0


def test_retry_after_as_a_date_without_a_zone_is_read_as_utc() -> None:
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:05 -0000", now=NOW) == 5.0


def test_a_negative_retry_after_means_now() -> None:
    assert parse_retry_after("-30") == 0.0


@pytest.mark.parametrize(
    "value", [None, "", "   ", "soon", "12s", "tomorrow at noon", "nan", "inf"]
)
def test_a_missing_or_garbage_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


@pytest.mark.parametrize(
    "value", ["99999999999999999999", "1e300", "Fri, 31 Dec 9999 23:59:59 GMT"]
)
def test_a_huge_retry_after_is_held_to_the_ceiling(value: str) -> None:
    after = parse_retry_after(value, now=NOW)
    assert after is not None and math.isfinite(after) and after > MAX_RETRY_AFTER.total_seconds()
    policy = RetryPolicy(5, timedelta(minutes=5), draw=lambda: 0.5)
    step = decide(Retry("busy", after=after), 1, policy, NOW)
    assert step.status == TEMPORARY_FAILURE
    assert step.next_retry_after == NOW + MAX_RETRY_AFTER


@given(st.text(max_size=60))
def test_any_header_text_gives_none_or_a_finite_wait(value: str) -> None:
    after = parse_retry_after(value, now=NOW)
    assert after is None or (math.isfinite(after) and after >= 0)
