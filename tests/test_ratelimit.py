"""The rate limiter and the stream cap, on a clock the test moves (no sleeping)."""

from __future__ import annotations

from clarion.ratelimit import RateLimiter, StreamSlots


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_its_limit_in_a_window_then_waits_for_the_oldest_to_age_out() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 60.0, clock)
    for _ in range(3):
        assert limiter.take("ann") is None
        clock.now += 10
    assert limiter.take("ann") == 30  # the first hit, at 1000, ages out at 1060
    assert limiter.take("bob") is None  # keys are counted apart
    clock.now = 1059.5
    assert limiter.retry_after("ann") == 1
    clock.now = 1060.0
    assert limiter.take("ann") is None
    assert limiter.take("ann") == 10  # the second hit, at 1010, ages out at 1070


def test_a_refused_take_is_not_counted() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 60.0, clock)
    assert limiter.take("ann") is None
    for _ in range(5):
        assert limiter.take("ann") == 60
    clock.now += 60
    assert limiter.take("ann") is None


def test_hits_counted_apart_from_the_check_and_idle_keys_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 60.0, clock)
    limiter.hit("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") is None
    limiter.hit("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 60
    clock.now += 61
    assert limiter.retry_after("10.0.0.1") is None
    assert limiter._hits == {}


def test_stream_slots_cap_each_user_and_come_back_when_released() -> None:
    slots = StreamSlots(per_user=2)
    assert slots.acquire("ann") and slots.acquire("ann")
    assert not slots.acquire("ann")
    assert slots.acquire("bob")
    slots.release("ann")
    assert slots.open("ann") == 1
    assert slots.acquire("ann")
    slots.release("ann")
    slots.release("ann")
    assert slots.open("ann") == 0
