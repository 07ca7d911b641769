"""Who is calling: a user by their API token, or the bootstrap admin token."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from clarion.domain.accounts import Actor
from clarion.service import Service
from clarion.store.users import User, user_for_token

ADMIN_ROLES = frozenset({"owner", "user-admin"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, or the bootstrap admin token (owner rights, no user)."""

    user: User | None
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return bool(self.roles & ADMIN_ROLES)

    @property
    def is_owner(self) -> bool:
        return "owner" in self.roles

    @property
    def scope(self) -> str:
        return str(self.user.id) if self.user else "admin-token"

    @property
    def name(self) -> str:
        """Who, in words for a message's history."""
        return self.user.email if self.user else "the admin token"


async def principal_for(service: Service, token: str) -> Principal | None:
    """Who a token (a user's API token or the admin token) stands for, or None. The API
    asks with a bearer token, the pages with the token their session cookie holds."""
    admin = service.settings.admin_token
    if admin is not None and hmac.compare_digest(token.encode(), admin.get_secret_value().encode()):
        return Principal(user=None, roles=frozenset({"owner"}))
    user = await user_for_token(service.db, token)
    return Principal(user=user, roles=frozenset(user.roles)) if user else None


def actor_of(principal: Principal) -> Actor:
    """The caller as the account rules see them (the events' initiator)."""
    if principal.user is None:
        return Actor("admin", is_owner=principal.is_owner, is_admin=principal.is_admin)
    return Actor(principal.user.username, principal.user.id, principal.is_owner, principal.is_admin)
