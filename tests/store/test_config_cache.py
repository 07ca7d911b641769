"""Event types and channel subscriptions are read once per configuration change, and a
change, made here or by another replica, is seen by the next event."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from clarion.service import Service
from clarion.store.config_cache import ConfigCache
from clarion.store.event_types import update_event_type
from clarion.store.tables import event_types

LABELS = {"name": "dev", "reason": "idle", "initiator": "ops"}


async def test_kept_until_configuration_changes(start_server) -> None:
    running = await start_server(dispatch=False)
    db = running.service.db
    cache = ConfigCache(db)
    async with db.read() as conn:
        before = await cache.event_types(conn, ["workspace_deleted"])
    # Changed behind its back (no config_changed): the cache does not read again...
    async with db.engine.begin() as conn:
        await conn.execute(
            event_types.update().where(event_types.c.key == "workspace_deleted").values(name="X")
        )
    async with db.read() as conn:
        kept = await cache.event_types(conn, ["workspace_deleted"])
    assert kept["workspace_deleted"].name == before["workspace_deleted"].name != "X"
    # ...until configuration is said to have changed.
    db.wake_local(config=True)
    async with db.read() as conn:
        fresh = await cache.event_types(conn, ["workspace_deleted"])
    assert fresh["workspace_deleted"].name == "X"


async def _post(running, name: str) -> dict:
    body = {"type": "workspace_deleted", "user_email": "ann@example.com"}
    status, event = await running.call(
        "POST", "/api/v1/events", json={**body, "labels": {**LABELS, "name": name}}
    )
    assert status == 202, event
    return dict(event)


async def test_changes_here_are_seen_by_the_next_event(start_server, sink) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    first = await _post(running, "one")  # reads (and keeps) the type and the channels
    assert [m["status"] for m in first["messages"]] == ["pending"]

    status, _ = await running.call(
        "PUT", "/api/v1/event-types/workspace_deleted", json={"enabled": False}
    )
    assert status == 200
    status, channel = await running.call(
        "POST",
        "/api/v1/channels",
        json={
            "name": "ops",
            "kind": "webhook",
            "config": {"endpoint": sink.url},
            "events": ["workspace_deleted"],
        },
    )
    assert status == 201, channel
    second = await _post(running, "two")
    assert sorted((m["method"], m["status"]) for m in second["messages"]) == [
        ("channel:webhook", "inhibited"),
        ("webhook", "inhibited"),
    ]

    await running.call("PUT", "/api/v1/event-types/workspace_deleted", json={"enabled": True})
    await running.call("DELETE", f"/api/v1/channels/{channel['id']}")
    third = await _post(running, "three")
    assert [(m["method"], m["status"]) for m in third["messages"]] == [("webhook", "pending")]


async def test_changes_by_another_replica_are_seen(start_server, make_settings) -> None:
    """By NOTIFY on PostgreSQL, by the file's change counter on SQLite."""
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    other = Service(make_settings(), dispatch=False)
    await other.start()
    try:
        assert (await _post(running, "one"))["messages"][0]["status"] == "pending"
        generation = running.service.db.config_generation
        async with other.db.begin() as conn:
            await update_event_type(conn, "workspace_deleted", enabled=False)
        for _ in range(100):
            if running.service.db.config_generation != generation:
                break
            await asyncio.sleep(0.02)
        assert (await _post(running, "two"))["messages"][0]["status"] == "inhibited"
    finally:
        await other.stop()
    async with running.service.db.read() as conn:
        enabled = (
            await conn.execute(
                sa.select(event_types.c.enabled).where(event_types.c.key == "workspace_deleted")
            )
        ).scalar_one()
    assert enabled is False
