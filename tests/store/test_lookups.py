"""Intake's bulk reads: users by id or email however many are named, stored preferences,
and the queued messages holding dedupe hashes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from clarion.store import lookups
from clarion.store.db import Database
from clarion.store.queue import insert_events, insert_messages, new_message_row
from clarion.store.users import create_user, set_preference


async def test_users_are_found_by_id_or_email_across_chunks(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(db_url)
    try:
        async with db.begin() as conn:
            made = [
                await create_user(
                    conn, email=f"u{i}@example.com", username=f"u{i}", name="", roles=["member"]
                )
                for i in range(7)
            ]
        # A chunk of three: seven names take three queries, and none is lost between them.
        monkeypatch.setattr(lookups, "_CHUNK", 3)
        ids = [u.id for u in made[:4]] + [uuid.uuid4()]
        emails = [u.email for u in made[3:]] + ["nobody@example.com"]
        async with db.read() as conn:
            found = await lookups.users_by_ids_or_emails(conn, ids, emails)
        assert {u.username for u in found} == {f"u{i}" for i in range(7)}
        async with db.read() as conn:
            assert await lookups.users_by_ids_or_emails(conn, [], []) == []
    finally:
        await db.close()


async def test_only_stored_choices_are_returned(db_url: str) -> None:
    db = Database(db_url)
    try:
        async with db.begin() as conn:
            ann, bob, cy = [
                await create_user(conn, email=f"{n}@example.com", username=n, name="", roles=[])
                for n in ("ann", "bob", "cy")
            ]
            await set_preference(conn, ann.id, "workspace_deleted", disabled=True)
            await set_preference(conn, bob.id, "workspace_deleted", disabled=False)
            await set_preference(conn, cy.id, "workspace_dormant", disabled=True)
        async with db.read() as conn:
            found = await lookups.explicit_preferences(
                conn, [ann.id, bob.id, cy.id], "workspace_deleted"
            )
            assert await lookups.explicit_preferences(conn, [], "workspace_deleted") == {}
        assert found == {ann.id: True, bob.id: False}
    finally:
        await db.close()


async def test_the_message_holding_a_dedupe_hash_is_found(db_url: str) -> None:
    db = Database(db_url)
    now = datetime.now(UTC)
    event_id = uuid.uuid4()
    row = new_message_row(
        event_id=event_id,
        event_type="workspace_deleted",
        method="webhook",
        recipient="ann@example.com",
        payload={},
        content={},
        now=now,
        dedupe_hash="h" * 64,
    )
    try:
        async with db.begin() as conn:
            await insert_events(
                conn,
                [
                    {
                        "id": event_id,
                        "type": "workspace_deleted",
                        "user_id": None,
                        "labels": {},
                        "data": None,
                        "targets": None,
                        "created_by": None,
                        "created_at": now,
                    }
                ],
            )
            await insert_messages(conn, [row])
        async with db.read() as conn:
            found = await lookups.dedupe_holders(conn, ["h" * 64, "x" * 64])
            assert await lookups.dedupe_holders(conn, []) == {}
        assert found == {"h" * 64: lookups.QueuedMessage(row["id"], "pending")}
    finally:
        await db.close()
