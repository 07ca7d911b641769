"""The pacer: slots in order, measured from real sends."""

from __future__ import annotations

import time

from clarion.dispatch.pacing import MARGIN, Pacer


def test_slots_are_spaced_and_owned() -> None:
    pacer = Pacer()
    assert pacer.wait_for("c", "m1", 1.0) == 0.0
    w2 = pacer.wait_for("c", "m2", 1.0)
    w3 = pacer.wait_for("c", "m3", 1.0)
    assert MARGIN * 0.99 < w2 <= MARGIN * 1.0
    assert MARGIN * 1.99 < w3 <= MARGIN * 2.0
    # Coming back early keeps its own slot rather than joining the end of the line.
    assert 0 < pacer.wait_for("c", "m2", 1.0) <= w2
    assert pacer.wait_for("other", "x", 1.0) == 0.0  # destinations are independent


def test_a_late_message_pushes_the_next_one() -> None:
    pacer = Pacer()
    interval = 0.05
    assert pacer.wait_for("c", "m1", interval) == 0.0
    pacer.wait_for("c", "m2", interval)
    pacer.wait_for("c", "m3", interval)
    time.sleep(interval * MARGIN * 2.5)  # m2 comes back late; m3's slot has passed too
    assert pacer.wait_for("c", "m2", interval) == 0.0
    assert pacer.wait_for("c", "m3", interval) > 0.9 * interval  # not right behind m2


def test_the_next_send_counts_from_the_end_of_the_last_one() -> None:
    pacer = Pacer()
    interval = 0.05
    assert pacer.wait_for("c", "m1", interval) == 0.0
    time.sleep(0.03)  # m1's request takes a while
    pacer.sent("c")
    assert pacer.wait_for("c", "m2", interval) > 0.9 * interval * MARGIN


def test_slots_of_messages_that_never_come_back_are_forgotten(monkeypatch) -> None:
    import clarion.dispatch.pacing as pacing

    monkeypatch.setattr(pacing, "_SLOTS_KEPT", 10)
    monkeypatch.setattr(pacing, "_SLOT_EXPIRY", 0.0)
    pacer = Pacer()
    interval = 0.001
    pacer.wait_for("c", "first", interval)
    for i in range(50):  # each gets a slot; none comes back (another replica took them)
        pacer.wait_for("c", f"m{i}", interval)
        time.sleep(interval * MARGIN * 2)
    assert len(pacer._slots) <= 10
