"""What intake reads, looked up once per transaction rather than once per event.

A batch of 500 events of one type for one user costs a handful of queries, not thousands.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.store.channels import ChannelRef
from clarion.store.event_types import EventType
from clarion.store.tables import preferences, users
from clarion.store.users import User, active_users_with_roles, normalize_email, user_from_row

if TYPE_CHECKING:
    from clarion.store.config_cache import ConfigCache


# Built once and run with expanding parameters: building a select costs ~50 µs a call, much
# of a small group's planning time outside the database (single events come in such groups).
_USERS = sa.select(users).where(
    sa.or_(
        users.c.id.in_(sa.bindparam("ids", expanding=True)),
        users.c.email.in_(sa.bindparam("emails", expanding=True)),
    )
)
_CHUNK = 10_000  # ids and emails in one query, well under PostgreSQL's parameter limit
_PREFERENCES = sa.select(preferences.c.user_id, preferences.c.disabled).where(
    preferences.c.user_id.in_(sa.bindparam("user_ids", expanding=True)),
    preferences.c.event_type == sa.bindparam("event_type"),
)


class EventRefs(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def user_id(self) -> uuid.UUID | None: ...
    @property
    def user_email(self) -> str | None: ...
    @property
    def targets(self) -> Sequence[uuid.UUID] | None: ...


class Lookups:
    """Users, roles and preferences per transaction; event types and channels from
    ``cache``, kept between requests."""

    def __init__(self, conn: AsyncConnection, cache: ConfigCache):
        self.conn = conn
        self.cache = cache
        self.types: dict[str, EventType] = {}
        self._by_id: dict[uuid.UUID, User] = {}
        self._by_email: dict[str, User] = {}
        self._roles: dict[tuple[str, ...], list[User]] = {}
        self._channels: list[tuple[ChannelRef, list[str]]] | None = None
        self._prefs: dict[tuple[uuid.UUID, str], bool | None] = {}

    async def preload(self, events: Sequence[EventRefs]) -> None:
        self.types.update(await self.cache.event_types(self.conn, {e.type for e in events}))
        ids = {e.user_id for e in events if e.user_id} | {
            t for e in events for t in e.targets or ()
        }
        emails = {normalize_email(e.user_email) for e in events if e.user_email and not e.user_id}
        await self._load_users(ids, emails)

    async def _load_users(self, ids: Iterable[uuid.UUID], emails: Iterable[str]) -> None:
        ids, emails = set(ids) - set(self._by_id), set(emails) - set(self._by_email)
        if not ids and not emails:
            return
        ids_left, emails_left = list(ids), list(emails)
        while ids_left or emails_left:
            # PostgreSQL takes at most 32767 parameters a query; a batch may name more.
            some_ids, ids_left = ids_left[:_CHUNK], ids_left[_CHUNK:]
            room = _CHUNK - len(some_ids)
            some_emails, emails_left = emails_left[:room], emails_left[room:]
            found = await self.conn.execute(_USERS, {"ids": some_ids, "emails": some_emails})
            for row in found.all():
                self._remember(user_from_row(row))

    def _remember(self, user: User) -> None:
        self._by_id[user.id] = user
        self._by_email[user.email] = user

    async def event_type(self, key: str) -> EventType | None:
        if key not in self.types:
            self.types.update(await self.cache.event_types(self.conn, {key}))
        return self.types.get(key)

    async def user_by_id(self, user_id: uuid.UUID) -> User | None:
        await self._load_users([user_id], [])
        return self._by_id.get(user_id)

    async def user_by_email(self, email: str) -> User | None:
        email = normalize_email(email)
        await self._load_users([], [email])
        return self._by_email.get(email)

    async def users_by_ids(self, ids: Iterable[uuid.UUID]) -> list[User]:
        ids = list(ids)
        await self._load_users(ids, [])
        return [self._by_id[i] for i in ids if i in self._by_id]

    async def role_holders(self, roles: Sequence[str]) -> list[User]:
        key = tuple(sorted(roles))
        if key not in self._roles:
            self._roles[key] = await active_users_with_roles(self.conn, key)
        return self._roles[key]

    async def subscribed_channels(self, event_type: str) -> list[ChannelRef]:
        if self._channels is None:
            self._channels = await self.cache.enabled_channels(self.conn)
        return [ref for ref, events in self._channels if event_type in events]

    async def preferences(
        self, user_ids: Sequence[uuid.UUID], event_type: str
    ) -> dict[uuid.UUID, bool]:
        """Each user's explicit choice for ``event_type`` (True: disabled); absent: none."""
        missing = [u for u in user_ids if (u, event_type) not in self._prefs]
        if missing:
            rows = await self.conn.execute(
                _PREFERENCES, {"user_ids": missing, "event_type": event_type}
            )
            found = {r.user_id: r.disabled for r in rows.all()}
            for user_id in missing:
                self._prefs[(user_id, event_type)] = found.get(user_id)
        out = {}
        for user_id in user_ids:
            choice = self._prefs[(user_id, event_type)]
            if choice is not None:
                out[user_id] = choice
        return out
