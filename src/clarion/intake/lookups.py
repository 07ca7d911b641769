"""What intake reads, looked up once per transaction rather than once per event.

A batch of 500 events of one type for one user costs a handful of queries, not thousands.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from clarion.store import Connection
from clarion.store.channels import ChannelRef
from clarion.store.event_types import EventType
from clarion.store.lookups import explicit_preferences, users_by_ids_or_emails
from clarion.store.users import User, active_users_with_roles, normalize_email

if TYPE_CHECKING:
    from clarion.store.config_cache import ConfigCache


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

    def __init__(self, conn: Connection, cache: ConfigCache):
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
        for user in await users_by_ids_or_emails(self.conn, ids, emails):
            self._remember(user)

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
            found = await explicit_preferences(self.conn, missing, event_type)
            for user_id in missing:
                self._prefs[(user_id, event_type)] = found.get(user_id)
        out = {}
        for user_id in user_ids:
            choice = self._prefs[(user_id, event_type)]
            if choice is not None:
                out[user_id] = choice
        return out
