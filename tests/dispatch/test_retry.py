"""The retry decision: backoff with jitter, its cap, the give-up point and Retry-After."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from clarion.delivery.outcome import Delivered, Failed, Retry
from clarion.dispatch.retry import MAX_RETRY_AFTER, RetryPolicy, decide
from clarion.store.tables import PERMANENT_FAILURE, SENT, TEMPORARY_FAILURE

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _policy(draw: float = 0.5, attempts: int = 5) -> RetryPolicy:
    return RetryPolicy(attempts, timedelta(minutes=5), draw=lambda: draw)


def test_the_default_schedule_gives_up_in_about_twenty_minutes() -> None:
    policy = _policy()
    waits = [policy.backoff(attempt) for attempt in range(1, 5)]
    assert [w.total_seconds() / 60 for w in waits] == [1.25, 2.5, 5, 10]
    # Coder retries 4 times 5 minutes apart: 20 minutes, not the 75 of doubling from 5.
    assert timedelta(minutes=15) <= sum(waits, timedelta()) <= timedelta(minutes=25)


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = _policy(attempts=20)
    nominal = [policy.nominal_backoff(a) for a in range(1, 10)]
    assert all(b >= a for a, b in itertools.pairwise(nominal))
    assert max(nominal) == timedelta(minutes=10)


def test_jitter_spreads_waits_within_a_quarter_either_side() -> None:
    low, high = _policy(draw=0.0).backoff(3), _policy(draw=0.999999).backoff(3)
    assert low == timedelta(minutes=3.75)
    assert timedelta(minutes=6.2) < high < timedelta(minutes=6.25)
    # With the real random source, messages failing together come back spread out.
    policy = RetryPolicy(5, timedelta(minutes=5))
    assert len({policy.backoff(2) for _ in range(50)}) > 40


def test_retry_is_scheduled_then_given_up_at_max_attempts() -> None:
    policy = _policy(attempts=3)
    first = decide(Retry("HTTP 500"), 1, policy, NOW)
    assert first.status == TEMPORARY_FAILURE and first.reason == "HTTP 500"
    assert first.next_retry_after == NOW + timedelta(minutes=1.25)
    last = decide(Retry("HTTP 500"), 3, policy, NOW)
    assert last.status == PERMANENT_FAILURE and last.next_retry_after is None
    assert last.reason == "HTTP 500 (gave up after 3 attempts)"


def test_retry_after_is_a_floor_and_has_a_ceiling() -> None:
    policy = _policy()
    sooner = decide(Retry("429", after=1), 1, policy, NOW)
    assert sooner.next_retry_after == NOW + timedelta(minutes=1.25)  # never sooner than backoff
    later = decide(Retry("429", after=3600), 1, policy, NOW)
    assert later.next_retry_after == NOW + timedelta(hours=1)
    huge = decide(Retry("429", after=10 * 86400), 1, policy, NOW)
    assert huge.next_retry_after == NOW + MAX_RETRY_AFTER


def test_delivered_and_failed_end_the_message() -> None:
    policy = _policy()
    assert decide(Delivered(), 1, policy, NOW).status == SENT
    failed = decide(Failed("HTTP 404"), 1, policy, NOW)
    assert (failed.status, failed.reason) == (PERMANENT_FAILURE, "HTTP 404")
