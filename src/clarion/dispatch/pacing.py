"""Per-destination pacing: at most one message per interval to one channel.

Each waiting message is given a slot in the destination's schedule and deferred until it;
when it comes back at that time the slot is its own, so a burst is delivered late but
complete and in order. Slots are measured from the end of the last real send (by then the
provider has received it), so arrivals at the provider are at least one interval apart
whatever the request latency, and a message that comes back late pushes the ones behind it.
Pacing is per process: with several replicas each keeps its own schedule (429s cover the
rest).
"""

from __future__ import annotations

import time
from collections.abc import Callable

# A little slack on top of the provider's interval, for its clock.
MARGIN = 1.03
# A slot whose message has not come back this long after it (another replica claimed it,
# or it was deleted) is forgotten, once this many are held.
_SLOT_EXPIRY = 600.0
_SLOTS_KEPT = 1024


class Pacer:
    """``clock`` gives seconds on a monotonic scale; tests pass a hand-driven one."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._next_free: dict[str, float] = {}
        self._last_sent: dict[str, float] = {}
        self._slots: dict[str, float] = {}  # message id -> its reserved time

    def wait_for(self, destination: str, message_id: str, interval: float) -> float:
        """Seconds until ``message_id`` may be sent to ``destination`` (0: send it now)."""
        interval *= MARGIN
        now = self._clock()
        earliest = self._last_sent.get(destination, float("-inf")) + interval
        slot = self._slots.pop(message_id, None)
        if slot is None:
            slot = max(now, self._next_free.get(destination, 0.0), earliest)
        else:
            slot = max(slot, earliest)
        self._next_free[destination] = max(self._next_free.get(destination, 0.0), slot + interval)
        if slot <= now:
            self._last_sent[destination] = now
            return 0.0
        if len(self._slots) >= _SLOTS_KEPT:  # drop slots whose message went elsewhere
            stale = now - _SLOT_EXPIRY
            self._slots = {m: at for m, at in self._slots.items() if at > stale}
        self._slots[message_id] = slot
        return slot - now

    def sent(self, destination: str) -> None:
        """The send to ``destination`` has finished: the next one counts from now."""
        self._last_sent[destination] = self._clock()
