"""The pacer: slots in order, measured from real sends, on a hand-driven clock."""

from __future__ import annotations

import pytest

from clarion.dispatch import pacing
from clarion.dispatch.pacing import MARGIN, Pacer


class Clock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_slots_are_spaced_and_owned() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    assert pacer.wait_for("c", "m1", 1.0) == 0.0
    assert pacer.wait_for("c", "m2", 1.0) == pytest.approx(MARGIN)
    assert pacer.wait_for("c", "m3", 1.0) == pytest.approx(2 * MARGIN)
    # Coming back early keeps its own slot rather than joining the end of the line.
    clock.advance(0.5)
    assert pacer.wait_for("c", "m2", 1.0) == pytest.approx(MARGIN - 0.5)
    assert pacer.wait_for("other", "x", 1.0) == 0.0  # destinations are independent


def test_a_message_back_at_its_slot_is_sent() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    pacer.wait_for("c", "m1", 1.0)
    wait = pacer.wait_for("c", "m2", 1.0)
    clock.advance(wait)
    assert pacer.wait_for("c", "m2", 1.0) == 0.0


def test_a_late_message_pushes_the_next_one() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    assert pacer.wait_for("c", "m1", 1.0) == 0.0
    pacer.wait_for("c", "m2", 1.0)
    pacer.wait_for("c", "m3", 1.0)
    clock.advance(2.5 * MARGIN)  # m2 comes back late; m3's slot has passed too
    assert pacer.wait_for("c", "m2", 1.0) == 0.0
    assert pacer.wait_for("c", "m3", 1.0) == pytest.approx(MARGIN)  # not right behind m2


def test_the_next_send_counts_from_the_end_of_the_last_one() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    assert pacer.wait_for("c", "m1", 1.0) == 0.0
    clock.advance(0.6)  # m1's request takes a while
    pacer.sent("c")
    assert pacer.wait_for("c", "m2", 1.0) == pytest.approx(MARGIN)


def test_slots_of_messages_that_never_come_back_are_forgotten() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    pacer.wait_for("c", "first", 1.0)
    held = 2 * pacing._SLOTS_KEPT
    for i in range(1, held + 1):  # each gets a slot; none comes back (another replica took them)
        assert pacer.wait_for("c", f"m{i}", 1.0) == pytest.approx(i * MARGIN)
    assert len(pacer._slots) == held  # nothing is stale yet, so nothing is dropped
    # Half the slots are now further in the past than the expiry; the next arrival drops them.
    clock.advance(pacing._SLOT_EXPIRY + (held // 2) * MARGIN + 0.5)
    assert pacer.wait_for("c", "late", 1.0) > 0
    assert len(pacer._slots) == held - held // 2 + 1
    assert f"m{held}" in pacer._slots and "m1" not in pacer._slots
