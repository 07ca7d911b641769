"""The retry policy, in one place: what a send's outcome does to the message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from clarion.channels.base import Defer, Delivered, Failed, Outcome, Retry
from clarion.store.tables import PENDING, PERMANENT_FAILURE, SENT, TEMPORARY_FAILURE

# Backoff doubles the retry interval per attempt, up to this many times the interval.
MAX_BACKOFF_FACTOR = 8
# A provider asking for more than a day is treated as a day: the message stays retryable.
MAX_RETRY_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    interval: timedelta

    def backoff(self, attempt: int) -> timedelta:
        """Wait after the ``attempt``-th failed attempt: interval * 2^(attempt-1), capped."""
        factor = min(2 ** max(attempt - 1, 0), MAX_BACKOFF_FACTOR)
        return timedelta(seconds=self.interval.total_seconds() * factor)


@dataclass(frozen=True)
class Transition:
    status: str
    reason: str | None
    next_retry_after: datetime | None


def decide(outcome: Outcome, attempt: int, policy: RetryPolicy, now: datetime) -> Transition:
    """The message's next state after its ``attempt``-th attempt ended with ``outcome``."""
    if isinstance(outcome, Delivered):
        return Transition(SENT, None, None)
    if isinstance(outcome, Failed):
        return Transition(PERMANENT_FAILURE, outcome.reason, None)
    if isinstance(outcome, Defer):
        return Transition(PENDING, outcome.reason, now + timedelta(seconds=outcome.after))
    assert isinstance(outcome, Retry), outcome
    if attempt >= policy.max_attempts:
        reason = f"{outcome.reason} (gave up after {attempt} attempts)"
        return Transition(PERMANENT_FAILURE, reason, None)
    wait = policy.backoff(attempt)
    if outcome.after is not None:
        # The provider knows its own limits: never sooner than it asked.
        wait = min(max(wait, timedelta(seconds=outcome.after)), MAX_RETRY_AFTER)
    return Transition(TEMPORARY_FAILURE, outcome.reason, now + wait)
