"""The retry policy, in one place: what a send's outcome does to the message."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from clarion.delivery.outcome import Defer, Delivered, Failed, Outcome, Retry
from clarion.store.tables import PENDING, PERMANENT_FAILURE, SENT, TEMPORARY_FAILURE

# Backoff: the first retry waits this fraction of the retry interval and each next one
# twice the last, up to MAX_BACKOFF_FACTOR times the interval. With the defaults (5 attempts,
# 5m) the waits are about 1.25, 2.5, 5 and 10 minutes: a message is given up ~19 minutes
# after its first try, as Coder does after its 4 retries of 5 minutes.
FIRST_BACKOFF_FRACTION = 0.25
MAX_BACKOFF_FACTOR = 2.0
# Each wait is drawn from ±JITTER around its nominal value, so messages that failed together
# (an outage) do not all come back in the same instant.
JITTER = 0.25
# A provider asking for more than a day is treated as a day: the message stays retryable.
MAX_RETRY_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    interval: timedelta
    # A number in [0, 1): where in the jitter range a wait falls.
    draw: Callable[[], float] = field(default=random.random, compare=False)

    def nominal_backoff(self, attempt: int) -> timedelta:
        """The wait after the ``attempt``-th failed attempt, before jitter."""
        doubling = 2.0 ** max(attempt - 1, 0)
        factor = min(FIRST_BACKOFF_FRACTION * doubling, MAX_BACKOFF_FACTOR)
        return self.interval * factor

    def backoff(self, attempt: int) -> timedelta:
        """The wait after the ``attempt``-th failed attempt: nominal, ±JITTER at random."""
        return self.nominal_backoff(attempt) * (1 + JITTER * (2 * self.draw() - 1))


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
        # Held to the ceiling before converting: a huge value would overflow timedelta.
        asked = timedelta(seconds=min(outcome.after, MAX_RETRY_AFTER.total_seconds()))
        wait = min(max(wait, asked), MAX_RETRY_AFTER)
    return Transition(TEMPORARY_FAILURE, outcome.reason, now + wait)
