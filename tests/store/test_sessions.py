"""Web sessions in the database: open until ended or expired; expired rows are purged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from clarion.store.db import Database
from clarion.store.sessions import (
    end_session,
    purge_expired_sessions,
    session_is_open,
    start_session,
)
from clarion.store.tables import web_sessions


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.close()


async def test_a_session_is_open_until_ended(db: Database) -> None:
    first = await start_session(db, timedelta(hours=1))
    second = await start_session(db, timedelta(hours=1))
    assert await session_is_open(db, first) and await session_is_open(db, second)
    await end_session(db, first)
    assert not await session_is_open(db, first)
    assert await session_is_open(db, second)
    assert not await session_is_open(db, "never-issued")


async def test_expired_sessions_are_closed_and_purged(db: Database) -> None:
    expired = await start_session(db, timedelta(seconds=-1))
    live = await start_session(db, timedelta(hours=1))
    assert not await session_is_open(db, expired)
    async with db.begin() as conn:
        await purge_expired_sessions(conn, datetime.now(UTC))
    async with db.read() as conn:
        left = (await conn.execute(sa.select(sa.func.count()).select_from(web_sessions))).scalar()
    assert left == 1 and await session_is_open(db, live)
    # The database holds only a hash of the id the cookie carries.
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(web_sessions.c.id_hash))).scalar()
    assert stored is not None and live not in stored
