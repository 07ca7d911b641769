"""Per-process rate limits and the cap on open inbox streams.

The counts live in this process's memory: behind several replicas a caller may get up to
the limit once per replica, which still bounds what one caller can make the service do.
A refused call is a 429 with ``Retry-After`` (whole seconds).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]

# Each test notification is a real send through the deployment's default method (an email,
# a webhook call): a few a minute is plenty to check a setup.
TEST_NOTIFICATIONS_PER_MINUTE = 5
# Failed sign-ins per client address (as seen through trusted proxies) a minute: enough for
# typing mistakes, far too few to guess a token.
FAILED_SIGN_INS_PER_MINUTE = 10
MINUTE = 60.0


class RateLimiter:
    """At most ``limit`` hits per key in any ``window`` seconds (a sliding window)."""

    def __init__(self, limit: int, window: float, clock: Clock = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]  # an idle key holds no memory
        return hits

    def retry_after(self, key: str) -> int | None:
        """Seconds until ``key`` may go again, or None when it may go now."""
        hits = self._recent(key)
        if len(hits) < self.limit:
            return None
        return max(1, math.ceil(hits[0] + self.window - self.clock()))

    def hit(self, key: str) -> None:
        self._recent(key)
        self._hits.setdefault(key, deque()).append(self.clock())

    def take(self, key: str) -> int | None:
        """Count a hit if allowed; otherwise the seconds to wait (and nothing counted)."""
        wait = self.retry_after(key)
        if wait is None:
            self.hit(key)
        return wait


@dataclass
class StreamSlots:
    """How many inbox streams each user has open in this process, capped."""

    per_user: int
    _open: dict[str, int] = field(default_factory=dict)

    def acquire(self, user: str) -> bool:
        if self._open.get(user, 0) >= self.per_user:
            return False
        self._open[user] = self._open.get(user, 0) + 1
        return True

    def release(self, user: str) -> None:
        left = self._open.get(user, 0) - 1
        if left > 0:
            self._open[user] = left
        else:
            self._open.pop(user, None)

    def open(self, user: str) -> int:
        return self._open.get(user, 0)


class Limits:
    """The service's limits, one set per process."""

    def __init__(self, streams_per_user: int, clock: Clock = time.monotonic):
        self.test_notifications = RateLimiter(TEST_NOTIFICATIONS_PER_MINUTE, MINUTE, clock)
        self.failed_sign_ins = RateLimiter(FAILED_SIGN_INS_PER_MINUTE, MINUTE, clock)
        self.streams = StreamSlots(streams_per_user)
