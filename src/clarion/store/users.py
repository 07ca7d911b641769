"""Users, their API tokens and their notification preferences."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.errors import Conflict
from clarion.roles import ADMIN_ROLES, ROLES
from clarion.store.db import Database
from clarion.store.tables import api_tokens, preferences, users
from clarion.store.unique import taken

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# Control characters and line separators: a name is put in email headers, where they break
# the header (or the message), and in one-line places such as page titles.
NAME_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_name(value: str) -> str:
    """``value`` as a person's display name, or ValueError when it holds a control character."""
    if NAME_CONTROL.search(value):
        raise ValueError("a name cannot hold control characters or line breaks")
    return value


TOKEN_PREFIX = "clarion_"


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    username: str
    name: str
    roles: tuple[str, ...]
    status: str
    created_at: datetime
    updated_at: datetime

    @property
    def is_admin(self) -> bool:
        return not ADMIN_ROLES.isdisjoint(self.roles)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "email": self.email,
            "username": self.username,
            "name": self.name,
            "roles": list(self.roles),
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def user_from_row(row: Any) -> User:
    """A User from a fetched row or, for a fresh insert, the inserted values."""
    m = row if isinstance(row, dict) else row._mapping
    return User(
        id=m["id"],
        email=m["email"],
        username=m["username"],
        name=m["name"],
        roles=tuple(m["roles"] or ()),
        status=m["status"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _taken(exc: IntegrityError, values: dict[str, Any]) -> Conflict:
    """A clash on a user's email or username as a Conflict naming which and the value;
    any other integrity error goes on up."""
    clashed = sorted(taken(exc, users) & {"email", "username"})
    if not clashed:
        raise exc
    named = " and ".join(f"{column} {values.get(column)!r}" for column in clashed)
    return Conflict(f"a user with {named} already exists")


async def create_user(
    conn: AsyncConnection, *, email: str, username: str, name: str, roles: Sequence[str]
) -> User:
    now = datetime.now(UTC)
    row = {
        "id": uuid.uuid4(),
        "email": normalize_email(email),
        "username": username,
        "name": name,
        "roles": list(dict.fromkeys(roles)),
        "status": "active",
        "created_at": now,
        "updated_at": now,
    }
    try:
        await conn.execute(users.insert().values(**row))
    except IntegrityError as exc:
        raise _taken(exc, row) from None
    return user_from_row(row)


async def find_user(conn: AsyncConnection, ref: str) -> User | None:
    """A user by id, email or username."""
    try:
        condition: Any = users.c.id == uuid.UUID(ref)
    except ValueError:
        condition = (users.c.email == normalize_email(ref)) | (users.c.username == ref)
    row = (await conn.execute(sa.select(users).where(condition))).first()
    return user_from_row(row) if row else None


async def list_users(
    conn: AsyncConnection, *, status: str | None = None, limit: int = 1000, offset: int = 0
) -> list[User]:
    query = sa.select(users).order_by(users.c.created_at, users.c.id).limit(limit).offset(offset)
    if status:
        query = query.where(users.c.status == status)
    return [user_from_row(r) for r in (await conn.execute(query)).all()]


async def update_user(conn: AsyncConnection, user_id: uuid.UUID, **changes: Any) -> User:
    if "roles" in changes:
        changes["roles"] = list(dict.fromkeys(changes["roles"]))
    changes["updated_at"] = datetime.now(UTC)
    try:
        await conn.execute(users.update().where(users.c.id == user_id).values(**changes))
    except IntegrityError as exc:
        raise _taken(exc, changes) from None
    row = (await conn.execute(sa.select(users).where(users.c.id == user_id))).one()
    return user_from_row(row)


def _has_role(conn: AsyncConnection, role: str) -> Any:
    if conn.dialect.name == "postgresql":
        return users.c.roles.op("@>")(sa.cast(sa.literal(f'["{role}"]'), users.c.roles.type))
    each = sa.func.json_each(users.c.roles).table_valued("value")
    return sa.exists(sa.select(1).select_from(each).where(each.c.value == role))


async def active_users_with_roles(conn: AsyncConnection, roles: Iterable[str]) -> list[User]:
    roles = [r for r in roles if r in ROLES]
    if not roles:
        return []
    query = sa.select(users).where(
        users.c.status == "active", sa.or_(*(_has_role(conn, r) for r in roles))
    )
    return [
        user_from_row(r) for r in (await conn.execute(query.order_by(users.c.created_at))).all()
    ]


# --- API tokens -----------------------------------------------------------------------------


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_token(
    conn: AsyncConnection, user_id: uuid.UUID, name: str, expires_at: datetime | None = None
) -> tuple[dict[str, Any], str]:
    """A new API token; the secret is returned once and only its hash is kept."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "name": name,
        "token_hash": hash_token(secret),
        "created_at": datetime.now(UTC),
        "expires_at": expires_at,
    }
    await conn.execute(api_tokens.insert().values(**row))
    return row, secret


async def list_tokens(conn: AsyncConnection, user_id: uuid.UUID) -> list[dict[str, Any]]:
    query = (
        sa.select(
            api_tokens.c.id, api_tokens.c.name, api_tokens.c.created_at, api_tokens.c.expires_at
        )
        .where(api_tokens.c.user_id == user_id)
        .order_by(api_tokens.c.created_at)
    )
    return [dict(r._mapping) for r in (await conn.execute(query)).all()]


async def delete_token(
    conn: AsyncConnection, token_id: uuid.UUID, user_id: uuid.UUID | None
) -> bool:
    stmt = api_tokens.delete().where(api_tokens.c.id == token_id)
    if user_id is not None:
        stmt = stmt.where(api_tokens.c.user_id == user_id)
    return bool((await conn.execute(stmt)).rowcount)


async def user_for_token(db: Database, secret: str) -> User | None:
    """The active user a bearer token belongs to, or None (unknown, expired, or not active)."""
    query = (
        sa.select(users, api_tokens.c.expires_at.label("token_expires_at"))
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(api_tokens.c.token_hash == hash_token(secret), users.c.status == "active")
    )
    async with db.read() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    expires = row._mapping["token_expires_at"]
    if expires is not None and expires <= datetime.now(UTC):
        return None
    return user_from_row(row)


# --- preferences ----------------------------------------------------------------------------


async def disabled_event_types(
    conn: AsyncConnection, user_id: uuid.UUID, off_by_default: Iterable[str] = ()
) -> list[str]:
    """The types this user does not receive: opted out, or off by default and never enabled."""
    query = sa.select(preferences.c.event_type, preferences.c.disabled).where(
        preferences.c.user_id == user_id
    )
    choices = {r.event_type: r.disabled for r in (await conn.execute(query)).all()}
    disabled = {key for key, off in choices.items() if off}
    disabled |= {key for key in off_by_default if key not in choices}
    return sorted(disabled)


async def replace_disabled_event_types(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    keys: Iterable[str],
    off_by_default: Iterable[str] = (),
) -> list[str]:
    """Make ``keys`` the user's whole disabled list; off-by-default types left out of it are
    recorded as explicitly enabled."""
    disabled = set(keys)
    enabled = set(off_by_default) - disabled
    await conn.execute(preferences.delete().where(preferences.c.user_id == user_id))
    now = datetime.now(UTC)
    rows = [
        {"user_id": user_id, "event_type": k, "disabled": k in disabled, "updated_at": now}
        for k in sorted(disabled | enabled)
    ]
    if rows:
        await conn.execute(preferences.insert(), rows)
    return sorted(disabled)


async def set_preference(
    conn: AsyncConnection, user_id: uuid.UUID, event_type: str, *, disabled: bool
) -> None:
    """Record one choice (an unsubscribe link's opt-out), keeping the user's others."""
    await conn.execute(
        preferences.delete().where(
            preferences.c.user_id == user_id, preferences.c.event_type == event_type
        )
    )
    await conn.execute(
        preferences.insert().values(
            user_id=user_id, event_type=event_type, disabled=disabled, updated_at=datetime.now(UTC)
        )
    )
