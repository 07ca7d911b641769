"""Deployment-wide settings kept in the database (shared by every replica): the kill switch."""

from __future__ import annotations

import sqlalchemy as sa

from clarion.store.db import Database
from clarion.store.tables import settings

PAUSED = "notifications_paused"


async def get_setting(db: Database, key: str, default: object = None) -> object:
    async with db.read() as conn:
        value = (
            await conn.execute(sa.select(settings.c.value).where(settings.c.key == key))
        ).scalar()
    return default if value is None else value


async def put_setting(db: Database, key: str, value: object, *, wake: bool = False) -> None:
    """Store a setting; ``wake`` also wakes every replica's dispatchers on commit, which
    then read the settings again."""
    async with db.begin() as conn:
        updated = await conn.execute(
            settings.update().where(settings.c.key == key).values(value=value)
        )
        if not updated.rowcount:
            await conn.execute(settings.insert().values(key=key, value=value))
        if wake:
            await db.notify_dispatch(conn, settings=True)
    if wake:
        db.wake_local(settings=True)


async def is_paused(db: Database) -> bool:
    return bool(await get_setting(db, PAUSED, False))


async def set_paused(db: Database, paused: bool) -> None:
    # Either way every replica's dispatcher wakes: to resume, or to hand back what it holds.
    await put_setting(db, PAUSED, paused, wake=True)
