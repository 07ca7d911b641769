"""The web pages' sessions: a row while signed in, none after signing out or expiry."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.store.db import Database
from clarion.store.tables import web_sessions


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def start_session(db: Database, lifetime: timedelta) -> str:
    """A new session's secret id, valid for ``lifetime``."""
    session_id = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with db.begin() as conn:
        await conn.execute(
            web_sessions.insert().values(
                id_hash=_hash(session_id), created_at=now, expires_at=now + lifetime
            )
        )
    return session_id


async def session_is_open(db: Database, session_id: str) -> bool:
    query = sa.select(web_sessions.c.expires_at).where(web_sessions.c.id_hash == _hash(session_id))
    async with db.read() as conn:
        expires = (await conn.execute(query)).scalar()
    return expires is not None and expires > datetime.now(UTC)


async def end_session(db: Database, session_id: str) -> None:
    async with db.begin() as conn:
        await conn.execute(web_sessions.delete().where(web_sessions.c.id_hash == _hash(session_id)))


async def purge_expired_sessions(conn: AsyncConnection, now: datetime) -> None:
    await conn.execute(web_sessions.delete().where(web_sessions.c.expires_at <= now))
