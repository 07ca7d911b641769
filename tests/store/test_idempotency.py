"""Answers kept under idempotency keys: found while fresh, forgotten when old, and the
PostgreSQL lock that keeps two replicas from storing the same key at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from clarion.store.db import Database
from clarion.store.idempotency import forget_older, lock_keys, remember, remembered

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_answers_are_found_until_they_expire(db_url: str) -> None:
    db = Database(db_url)
    try:
        async with db.begin() as conn:
            await remember(conn, [(("ops", "a"), (202, '{"id":"1"}'))], now=NOW)
            await remember(conn, [(("ops", "b"), (202, '{"id":"2"}'))], now=NOW - timedelta(days=2))
            # Scoped: another caller's "a" is another key.
            await remember(conn, [(("ci", "a"), (202, '{"id":"3"}'))], now=NOW)
        wanted = [("ops", "a"), ("ops", "b"), ("ops", "c")]
        since, before_all = NOW - timedelta(days=1), NOW - timedelta(days=3)
        async with db.read() as conn:
            found = await remembered(conn, wanted, since=since, forget_expired=False)
        assert found == {("ops", "a"): (202, '{"id":"1"}')}
        async with db.read() as conn:  # the expired one was kept: a read deletes nothing
            kept = await remembered(conn, wanted, since=before_all, forget_expired=False)
        assert kept == {("ops", "a"): (202, '{"id":"1"}'), ("ops", "b"): (202, '{"id":"2"}')}
        async with db.begin() as conn:
            await remembered(conn, wanted, since=since, forget_expired=True)
        async with db.read() as conn:
            found = await remembered(conn, wanted, since=before_all, forget_expired=False)
        assert set(found) == {("ops", "a")}
    finally:
        await db.close()


async def test_housekeeping_forgets_what_is_older_than_the_window(db_url: str) -> None:
    db = Database(db_url)
    try:
        async with db.begin() as conn:
            await remember(conn, [(("ops", "old"), (202, "{}"))], now=NOW - timedelta(hours=25))
            await remember(conn, [(("ops", "new"), (202, "{}"))], now=NOW - timedelta(hours=1))
            await forget_older(conn, NOW - timedelta(hours=24))
        async with db.read() as conn:
            found = await remembered(
                conn,
                [("ops", "old"), ("ops", "new")],
                since=NOW - timedelta(days=9),
                forget_expired=False,
            )
        assert set(found) == {("ops", "new")}
    finally:
        await db.close()


async def test_a_second_transaction_with_the_same_key_waits_for_the_first(
    pg_database_url: str,
) -> None:
    db = Database(pg_database_url)
    waiting = sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    first_done = asyncio.Event()
    try:
        async with db.begin() as first:
            await lock_keys(first, [("ops", "k"), ("ops", "j")])

            async def second() -> bool:
                async with db.begin() as conn:
                    await lock_keys(conn, [("ops", "j")])
                    return first_done.is_set()

            task = asyncio.create_task(second())
            async with asyncio.timeout(10):
                while True:
                    async with db.read() as conn:
                        if (await conn.execute(waiting)).scalar_one():
                            break
                    await asyncio.sleep(0.01)
            assert not task.done()
            first_done.set()
        # The lock was held until the first transaction ended.
        assert await asyncio.wait_for(task, 10) is True
        # A different key does not wait.
        async with db.begin() as one, db.begin() as other:
            await lock_keys(one, [("ops", "x")])
            await asyncio.wait_for(lock_keys(other, [("ops", "y")]), 10)
    finally:
        await db.close()
