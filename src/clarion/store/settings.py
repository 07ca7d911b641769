"""Deployment-wide settings kept in the database (shared by every replica): the kill switch."""

from __future__ import annotations

import sqlalchemy as sa

from clarion.store.db import Database, config_changed
from clarion.store.tables import settings

PAUSED = "notifications_paused"


async def get_setting(db: Database, key: str, default: object = None) -> object:
    async with db.read() as conn:
        value = (
            await conn.execute(sa.select(settings.c.value).where(settings.c.key == key))
        ).scalar()
    return default if value is None else value


async def put_setting(db: Database, key: str, value: object) -> None:
    """Store a setting; on commit every replica's dispatchers wake and read it again."""
    async with db.begin() as conn:
        updated = await conn.execute(
            settings.update().where(settings.c.key == key).values(value=value)
        )
        if not updated.rowcount:
            await conn.execute(settings.insert().values(key=key, value=value))
        await config_changed(conn)


async def is_paused(db: Database) -> bool:
    return bool(await get_setting(db, PAUSED, False))


async def set_paused(db: Database, paused: bool) -> None:
    # Either way every replica's dispatcher wakes: to resume, or to hand back what it holds.
    await put_setting(db, PAUSED, paused)
