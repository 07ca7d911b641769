"""Users' lifecycle as Coder tells it: creating, suspending, activating and deleting a user
each emit Coder's user events (to the user where Coder does, and to owners and
user-admins). The API and the web pages both change users through here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.errors import Conflict
from clarion.intake.events import EventInput, IntakeConfig, enqueue_event
from clarion.store import users as store
from clarion.store.config_cache import ConfigCache


@dataclass(frozen=True)
class Actor:
    """Who made the change: the events' ``initiator`` label and ``created_by``."""

    username: str
    user_id: uuid.UUID | None = None
    is_owner: bool = False
    # Holds an administrator's role (owner or user-admin).
    is_admin: bool = False


# What of a user's an actor acts on: the account itself, its notification preferences, or its
# API tokens.
Concern = Literal["account", "preferences", "tokens"]


class AccountRefused(Exception):
    """A change that cannot be made; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Accounts:
    config: IntakeConfig
    cache: ConfigCache

    async def _emit(
        self, conn: AsyncConnection, actor: Actor, event_type: str, user: store.User, prefix: str
    ) -> None:
        labels = {f"{prefix}_account_name": user.username, "initiator": actor.username}
        if not event_type.startswith("your_"):
            labels[f"{prefix}_account_user_name"] = user.name or user.username
        data = {"user": {"id": str(user.id), "name": user.name, "email": user.email}}
        await enqueue_event(
            conn,
            EventInput(type=event_type, user_id=user.id, labels=labels, data=data),
            self.config,
            self.cache,
            created_by=actor.user_id,
        )

    async def create(
        self,
        conn: AsyncConnection,
        actor: Actor,
        *,
        email: str,
        username: str | None,
        name: str,
        roles: Sequence[str],
    ) -> store.User:
        """``username`` defaults to the email's local part. Raises AccountRefused when the
        actor may not grant a role or the email or username is taken (the caller's
        transaction must then be rolled back)."""
        if "owner" in roles and not actor.is_owner:
            raise AccountRefused(403, "only an owner can grant the owner role")
        try:
            store.check_name(name)
        except ValueError as exc:
            raise AccountRefused(422, f"name: {exc}") from None
        username = username or email.split("@")[0]
        if not store.USERNAME.match(username):
            raise AccountRefused(
                422,
                f"username: {username!r} cannot be a username (letters, digits, '.', '_', "
                "'-', at most 100); give one",
            )
        try:
            user = await store.create_user(
                conn, email=email, username=username, name=name, roles=list(roles)
            )
        except Conflict as exc:
            raise AccountRefused(409, str(exc)) from None
        await self._emit(conn, actor, "user_account_created", user, "created")
        return user

    @staticmethod
    def check_may_manage(actor: Actor, user: store.User, concern: Concern = "account") -> None:
        """Whether the actor may change the user's account or preferences, or mint, list or
        delete their API tokens; AccountRefused (403) if not. The API and the pages both ask
        here.

        Everyone acts on their own; an owner on anyone's. A token acts as its user, so only
        the user or an owner handles it: a user-admin holding another admin's token would
        act as them. Only an owner changes an owner's account or preferences: a user-admin
        could otherwise lock every owner out, or silence the owners' account alerts."""
        if actor.is_owner or (actor.user_id is not None and actor.user_id == user.id):
            return
        if "owner" in user.roles:
            raise AccountRefused(
                403, "only an owner can change an owner's account, preferences or tokens"
            )
        if concern == "tokens":
            raise AccountRefused(
                403, "only the user themself or an owner can handle a user's API tokens"
            )
        if not actor.is_admin:
            raise AccountRefused(403, "only the user themself or an administrator can do this")

    async def set_status(
        self, conn: AsyncConnection, actor: Actor, user: store.User, status: str
    ) -> store.User:
        """``active`` or ``suspended``; the events go out only for a real change."""
        self.check_may_manage(actor, user)
        updated = await store.update_user(conn, user.id, status=status)
        if status != user.status:
            verb = "suspended" if status == "suspended" else "activated"
            await self._emit(conn, actor, f"user_account_{verb}", updated, verb)
            await self._emit(conn, actor, f"your_account_{verb}", updated, verb)
        return updated

    async def delete(self, conn: AsyncConnection, actor: Actor, user: store.User) -> None:
        """Marks the user deleted (their messages stay in the log)."""
        self.check_may_manage(actor, user)
        if user.status != "deleted":
            deleted = await store.update_user(conn, user.id, status="deleted")
            await self._emit(conn, actor, "user_account_deleted", deleted, "deleted")
