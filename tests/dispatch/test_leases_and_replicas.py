"""Crash safety and replicas: expired leases are reclaimed; dispatchers never double-send."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from clarion.intake.catalog import BUILTIN_EVENT_TYPES
from clarion.service import Service
from clarion.store.event_types import list_event_types
from clarion.store.queue import claim_due_messages
from clarion.store.tables import event_types, messages
from tests.fakes.sink import HttpSink


async def _enqueue(running, count: int) -> list[str]:
    events = [
        {
            "type": "workspace_deleted",
            "user_email": "ann@example.com",
            "labels": {"name": f"ws{i}", "reason": "r", "initiator": "i"},
        }
        for i in range(count)
    ]
    ids: list[str] = []
    for start in range(0, count, 500):
        status, body = await running.call(
            "POST", "/api/v1/events/batch", json={"events": events[start : start + 500]}
        )
        assert status == 202, body
        ids += [e["messages"][0]["id"] for e in body["events"]]
    return ids


async def _attempts(running, ids: list[str]) -> Counter[tuple[str, int]]:
    """How many of the messages ``ids`` are in each (status, attempt count), as recorded."""
    query = sa.select(messages.c.status, messages.c.attempt_count).where(
        messages.c.id.in_([uuid.UUID(i) for i in ids])
    )
    async with running.service.db.begin() as conn:
        rows = (await conn.execute(query)).all()
    return Counter((row.status, row.attempt_count) for row in rows)


@pytest.mark.slow
async def test_message_of_a_dead_worker_is_sent_after_its_lease_once(
    start_server, sink: HttpSink, make_settings
) -> None:
    intake = await start_server(dispatch=False, webhook_endpoint=sink.url)
    await intake.create_user("ann@example.com")
    [message_id] = await _enqueue(intake, 1)

    # A worker claims the message and dies before sending: nothing ever completes it.
    before_claim = time.monotonic()  # the sink's clock
    claim = await claim_due_messages(
        intake.service.db, limit=10, lease_period=timedelta(seconds=2), now=datetime.now(UTC)
    )
    claimed = claim.messages
    assert [str(m.id) for m in claimed] == [message_id]
    # Fewer than asked for: the claim says when to look again, here when its lease ends.
    assert claim.next_due == claimed[0].leased_until
    _, message = await intake.call("GET", f"/api/v1/messages/{message_id}")
    assert message["status"] == "leased"

    survivor = Service(make_settings(webhook_endpoint=sink.url, fetch_interval="200ms"))
    await survivor.start()
    try:
        await intake.wait_status(message_id, {"sent"}, timeout=10)
    finally:
        await survivor.stop()  # nothing is in flight after this: the sink's count is final
    [received] = sink.received
    assert received.headers["X-Message-Id"] == message_id
    # Not before the dead worker's lease (2 s from its claim) ended.
    assert received.at >= before_claim + 2.0
    _, message = await intake.call("GET", f"/api/v1/messages/{message_id}")
    assert message["attempt_count"] == 2  # the dead worker's attempt counts


async def test_two_dispatchers_deliver_each_message_exactly_once(
    start_server, sink: HttpSink, make_settings
) -> None:
    intake = await start_server(dispatch=False, webhook_endpoint=sink.url)
    await intake.create_user("ann@example.com")
    ids = await _enqueue(intake, 1000)

    replicas = [
        Service(make_settings(webhook_endpoint=sink.url, dispatch_batch_size=25)) for _ in range(2)
    ]
    await asyncio.gather(*(r.start() for r in replicas))
    try:
        await sink.wait_for(1000, timeout=60)
    finally:
        await asyncio.gather(*(r.stop() for r in replicas))
    counts = Counter(r.headers["X-Message-Id"] for r in sink.received)
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1
    # Each message was claimed once: a second send needs a second claim, which is counted.
    assert await _attempts(intake, ids) == {("sent", 1): 1000}
    _, page = await intake.call(
        "GET", "/api/v1/messages", params={"status": "sent", "limit": "500"}
    )
    assert len(page["items"]) == 500 and page["next_cursor"]


async def test_an_idle_replica_is_woken_by_messages_another_one_stored(
    start_server, sink: HttpSink, make_settings
) -> None:
    """Not at its next poll: by NOTIFY on PostgreSQL, by a look at the file on SQLite."""
    intake = await start_server(dispatch=False, webhook_endpoint=sink.url)
    await intake.create_user("ann@example.com")
    replica = Service(make_settings(webhook_endpoint=sink.url, fetch_interval="60s"))
    await replica.start()
    try:
        await asyncio.sleep(0.5)  # nothing queued: asleep until its poll, a minute away
        ids = await _enqueue(intake, 3)
        await sink.wait_for(3, timeout=5)
    finally:
        await replica.stop()
    assert sorted(r.headers["X-Message-Id"] for r in sink.received) == sorted(ids)


async def test_a_replica_hears_that_another_one_paused_delivery(
    start_server, make_settings
) -> None:
    """New messages do not make a dispatcher read the kill switch again (a query per wake-up);
    a change to it does, here or on another replica."""
    intake = await start_server(dispatch=False)
    replica = Service(make_settings(), dispatch=False)
    await replica.start()
    try:
        await asyncio.sleep(0.2)
        before = replica.db.config_generation
        await intake.create_user("ann@example.com")
        await intake.post_deleted()
        await asyncio.sleep(0.3)
        if replica.db.is_postgres:  # SQLite's change counter cannot tell what changed
            assert replica.db.config_generation == before
        status, _ = await intake.call(
            "PUT", "/api/v1/notifications/settings", json={"paused": True}
        )
        assert status == 200
        for _ in range(100):
            if replica.db.config_generation != before:
                break
            await asyncio.sleep(0.02)
        assert replica.db.config_generation != before
    finally:
        await replica.stop()


async def test_stopping_hands_back_claimed_messages_it_had_not_started(
    start_server, sink: HttpSink, make_settings
) -> None:
    intake = await start_server(dispatch=False, webhook_endpoint=sink.url)
    await intake.create_user("ann@example.com")
    ids = await _enqueue(intake, 20)
    sink.delay = 0.5
    # Two workers; one claim takes all 20, so 18 wait in the dispatcher's buffer.
    worker = Service(
        make_settings(webhook_endpoint=sink.url, dispatch_concurrency=2, dispatch_batch_size=20)
    )
    await worker.start()
    await sink.wait_for(2)
    await worker.stop()  # the two sends in flight finish; the rest are handed back

    started = {r.headers["X-Message-Id"] for r in sink.received}
    assert len(started) == 2
    for message_id in ids:
        _, message = await intake.call("GET", f"/api/v1/messages/{message_id}")
        if message_id in started:
            assert (message["status"], message["attempt_count"]) == ("sent", 1)
        else:  # claimable again at once, and the claim is not counted as an attempt
            assert (message["status"], message["attempt_count"]) == ("pending", 0), message

    sink.delay = 0.0
    survivor = Service(make_settings(webhook_endpoint=sink.url))  # lease_period is 30 s
    await survivor.start()
    try:
        await sink.wait_for(20, timeout=10)
    finally:
        await survivor.stop()
    counts = Counter(r.headers["X-Message-Id"] for r in sink.received)
    assert set(counts) == set(ids) and max(counts.values()) == 1
    assert await _attempts(intake, ids) == {("sent", 1): 20}


@pytest.mark.slow
async def test_a_message_left_too_long_in_the_buffer_is_handed_back_not_sent_twice(
    start_server, sink: HttpSink, make_settings
) -> None:
    """Leases of 2 s, sends of up to 1 s, one slow worker: most claimed messages would
    still be waiting when their lease ended, and be claimed and sent again."""
    intake = await start_server(dispatch=False, webhook_endpoint=sink.url)
    await intake.create_user("ann@example.com")
    ids = await _enqueue(intake, 12)
    sink.delay = 0.4
    worker = Service(
        make_settings(
            webhook_endpoint=sink.url,
            dispatch_concurrency=1,
            dispatch_batch_size=12,
            lease_period="2s",
            dispatch_timeout="1s",
            fetch_interval="200ms",
        )
    )
    await worker.start()
    try:
        await sink.wait_for(12, timeout=30)
    finally:
        await worker.stop()
    counts = Counter(r.headers["X-Message-Id"] for r in sink.received)
    assert set(counts) == set(ids) and max(counts.values()) == 1
    for message_id in ids:
        _, message = await intake.call("GET", f"/api/v1/messages/{message_id}")
        assert (message["status"], message["attempt_count"]) == ("sent", 1), message


async def test_replicas_starting_together_on_an_empty_database(make_settings) -> None:
    """All migrate and seed the catalog without tripping over each other, and the catalog
    is there once: every built-in type, one row each, inserted by a single replica."""
    replicas = [Service(make_settings(), dispatch=False) for _ in range(3)]
    try:
        started = await asyncio.gather(*(r.start() for r in replicas), return_exceptions=True)
        assert [s for s in started if isinstance(s, BaseException)] == []
        async with replicas[0].db.begin() as conn:
            keys = (await conn.execute(sa.select(event_types.c.key))).scalars().all()
            inserted = set(
                (await conn.execute(sa.select(event_types.c.created_at))).scalars().all()
            )
            seeded = {t.key: t for t in await list_event_types(conn)}
    finally:
        await asyncio.gather(*(r.stop() for r in replicas))
    assert sorted(keys) == sorted(spec.key for spec in BUILTIN_EVENT_TYPES)
    assert {k: t.id for k, t in seeded.items()} == {s.key: s.id for s in BUILTIN_EVENT_TYPES}
    # One replica inserted them all in one transaction; the others only refreshed them.
    assert len(inserted) == 1


async def test_stopping_while_outcomes_are_being_written_keeps_them(
    start_server, sink: HttpSink, make_settings, monkeypatch
) -> None:
    """The outcome batch in flight when the dispatcher stops is written, not dropped (the
    message would stay leased and be sent again once its lease ended)."""
    import clarion.dispatch.dispatcher as dispatcher

    intake = await start_server(dispatch=False, webhook_endpoint=sink.url)
    await intake.create_user("ann@example.com")
    [message_id] = await _enqueue(intake, 1)

    writing = asyncio.Event()
    real_complete = dispatcher.complete_messages

    async def slow_complete(*args, **kwargs):
        writing.set()
        await asyncio.sleep(0.5)  # the stop arrives while this batch is being written
        return await real_complete(*args, **kwargs)

    monkeypatch.setattr(dispatcher, "complete_messages", slow_complete)
    worker = Service(make_settings(webhook_endpoint=sink.url))
    await worker.start()
    await asyncio.wait_for(writing.wait(), 10)
    await worker.stop()
    _, message = await intake.call("GET", f"/api/v1/messages/{message_id}")
    assert (message["status"], message["attempt_count"]) == ("sent", 1), message
    assert len(sink.received) == 1
