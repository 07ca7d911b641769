"""Retention and metrics."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from clarion.store.tables import events, messages
from tests.fakes.sink import HttpSink


async def test_messages_past_retention_are_purged(start_server) -> None:
    running = await start_server(dispatch=False, retention="1h")
    await running.create_user("ann@example.com")
    old = await running.post_deleted(name="dev")
    new = await running.post_deleted(name="x")
    db = running.service.db
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    old_id = uuid.UUID(old["id"])
    async with db.begin() as conn:
        await conn.execute(
            messages.update().where(messages.c.event_id == old_id).values(created_at=long_ago)
        )
        await conn.execute(events.update().where(events.c.id == old_id).values(created_at=long_ago))
    assert await running.service.purge() == 1
    async with db.engine.connect() as conn:
        left = set((await conn.execute(sa.select(messages.c.event_id))).scalars())
        event_ids = set((await conn.execute(sa.select(events.c.id))).scalars())
    assert str(old["id"]) not in {str(i) for i in left | event_ids}
    assert str(new["id"]) in {str(i) for i in left}


async def test_metrics_report_queue_and_deliveries(start_server, sink: HttpSink) -> None:
    running = await start_server(webhook_endpoint=sink.url)
    await running.create_user("ann@example.com")
    event = await running.post_deleted()
    await running.wait_status(event["messages"][0]["id"], {"sent"})
    async with running.http.get(running.url + "/metrics") as response:
        text = await response.text()
    assert 'clarion_messages{status="sent"}' in text
    sent = (
        'clarion_deliveries_total{channel_kind="",event_type="workspace_deleted",'
        'method="webhook",result="sent"}'
    )
    assert sent in text
    assert "clarion_dispatch_duration_seconds_bucket" in text
    assert "clarion_paused 0.0" in text


async def test_a_message_being_sent_is_not_purged(start_server) -> None:
    running = await start_server(dispatch=False, retention="1h")
    await running.create_user("ann@example.com")
    sending = await running.post_deleted(name="dev")
    expired = await running.post_deleted(name="old-lease")
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    held_until = {sending["id"]: datetime.now(UTC) + timedelta(minutes=1), expired["id"]: long_ago}
    async with running.service.db.begin() as conn:
        for event_id, until in held_until.items():
            await conn.execute(
                messages.update()
                .where(messages.c.event_id == uuid.UUID(event_id))
                .values(created_at=long_ago, status="leased", leased_until=until)
            )
    # The lease that holds keeps its message until the outcome is in; a dead one does not.
    assert await running.service.purge() == 1
    async with running.service.db.engine.connect() as conn:
        left = {str(i) for i in (await conn.execute(sa.select(messages.c.event_id))).scalars()}
    assert left == {sending["id"]}
