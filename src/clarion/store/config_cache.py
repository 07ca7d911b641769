"""Event types and channel subscriptions, read once per configuration change.

Intake needs both for every event, and they change only when an operator changes them.
A value read here is kept until :attr:`Database.config_generation` moves: at once for a
change made by this process (on commit), and for one made by another process when its
NOTIFY arrives (PostgreSQL) or the file's change counter moves (SQLite, within
``SQLITE_CHANGE_POLL``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.store.channels import ChannelRef, enabled_channels
from clarion.store.db import Database
from clarion.store.event_types import EventType, get_event_types, list_event_types

T = TypeVar("T")


class ConfigCache:
    def __init__(self, db: Database):
        self.db = db
        self._values: dict[str, tuple[int, Any]] = {}

    async def _get(
        self, name: str, conn: AsyncConnection, load: Callable[[AsyncConnection], Awaitable[T]]
    ) -> T:
        generation = self.db.config_generation
        found = self._values.get(name)
        if found is not None and found[0] == generation:
            value: T = found[1]
            return value
        # Tagged with the generation from before the read: a change committed while it
        # runs moves the generation, and the next use reads again.
        value = await load(conn)
        self._values[name] = (generation, value)
        return value

    async def event_types(self, conn: AsyncConnection, keys: Iterable[str]) -> dict[str, EventType]:
        async def load(conn: AsyncConnection) -> dict[str, EventType]:
            return {t.key: t for t in await list_event_types(conn)}

        known = await self._get("event_types", conn, load)
        keys = set(keys)
        found = {key: known[key] for key in keys if key in known}
        if len(found) < len(keys):  # perhaps created elsewhere, its notice still on the way
            found |= await get_event_types(conn, keys - set(found))
        return found

    async def enabled_channels(self, conn: AsyncConnection) -> list[tuple[ChannelRef, list[str]]]:
        return await self._get("channels", conn, enabled_channels)
