"""Team channels: a destination (kind + config), the event types it receives, and a switch.

Secret config fields are sealed with Fernet (:mod:`clarion.secrets`) before they reach the
database; this module stores and returns them sealed or opened, never logs them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.errors import Conflict
from clarion.secrets import SecretBox, SecretsError
from clarion.store.db import config_changed
from clarion.store.tables import channels
from clarion.store.unique import taken


@dataclass(frozen=True)
class Channel:
    id: uuid.UUID
    name: str
    kind: str
    config: dict[str, Any]  # public fields only
    secrets: dict[str, Any]  # opened secret fields: never serialise these
    events: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    disabled_reason: str | None = None

    @property
    def full_config(self) -> dict[str, Any]:
        return {**self.config, **self.secrets}


def _name_taken(exc: IntegrityError, name: Any) -> Conflict:
    """A clash on the channel's name as a Conflict; any other integrity error goes on up."""
    if "name" not in taken(exc, channels):
        raise exc
    return Conflict(f"a channel named {name!r} already exists")


def _channel(row: Any, box: SecretBox | None) -> Channel:
    """``box`` None: the secrets are left sealed (``secrets`` empty), for lists and removal,
    which must work even when they cannot be opened."""
    m = row._mapping
    return Channel(
        id=m["id"],
        name=m["name"],
        kind=m["kind"],
        config=dict(m["config"] or {}),
        secrets=box.open(m["secrets"]) if box is not None else {},
        events=list(m["events"] or []),
        enabled=bool(m["enabled"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        disabled_reason=m["disabled_reason"],
    )


async def create_channel(
    conn: AsyncConnection,
    box: SecretBox,
    *,
    name: str,
    kind: str,
    config: dict[str, Any],
    secrets: dict[str, Any],
    events: Iterable[str],
    enabled: bool,
) -> Channel:
    """A Conflict when ``name`` is taken."""
    now = datetime.now(UTC)
    channel_id = uuid.uuid4()
    insert = channels.insert().values(
        id=channel_id,
        name=name,
        kind=kind,
        config=config,
        secrets=box.seal(secrets) if secrets else None,
        events=sorted(set(events)),
        enabled=enabled,
        created_at=now,
        updated_at=now,
    )
    try:
        await conn.execute(insert)
    except IntegrityError as exc:
        raise _name_taken(exc, name) from None
    await config_changed(conn)
    found = await get_channel(conn, box, channel_id)
    assert found is not None
    return found


async def get_channel(
    conn: AsyncConnection, box: SecretBox | None, channel_id: uuid.UUID
) -> Channel | None:
    row = (await conn.execute(sa.select(channels).where(channels.c.id == channel_id))).first()
    return _channel(row, box) if row else None


async def list_channels(conn: AsyncConnection, box: SecretBox | None) -> list[Channel]:
    rows = (await conn.execute(sa.select(channels).order_by(channels.c.name))).all()
    return [_channel(r, box) for r in rows]


async def channels_by_ids(
    conn: AsyncConnection, box: SecretBox, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Channel | SecretsError]:
    """The channels found, each opened on its own: one whose secrets cannot be read (a key
    missing from CLARION_SECRET_KEY) is its error, and does not hide the others."""
    ids = list(set(ids))
    if not ids:
        return {}
    rows = (await conn.execute(sa.select(channels).where(channels.c.id.in_(ids)))).all()
    found: dict[uuid.UUID, Channel | SecretsError] = {}
    for row in rows:
        try:
            found[row.id] = _channel(row, box)
        except SecretsError as exc:
            found[row.id] = exc
    return found


@dataclass(frozen=True)
class ChannelRef:
    id: uuid.UUID
    name: str
    kind: str


async def enabled_channels(conn: AsyncConnection) -> list[tuple[ChannelRef, list[str]]]:
    """Enabled channels with the event types each is subscribed to (a handful of rows)."""
    query = (
        sa.select(channels.c.id, channels.c.name, channels.c.kind, channels.c.events)
        .where(channels.c.enabled.is_(True))
        .order_by(channels.c.name)
    )
    rows = (await conn.execute(query)).all()
    return [(ChannelRef(r.id, r.name, r.kind), list(r.events or [])) for r in rows]


async def update_channel(
    conn: AsyncConnection,
    box: SecretBox,
    channel_id: uuid.UUID,
    *,
    secrets: dict[str, Any] | None = None,
    **changes: Any,
) -> Channel | None:
    """None when there is no such channel; a Conflict when a new name is taken."""
    values = dict(changes)
    if "events" in values:
        values["events"] = sorted(set(values["events"]))
    if values.get("enabled"):
        values["disabled_reason"] = None
    if secrets is not None:
        values["secrets"] = box.seal(secrets) if secrets else None
    values["updated_at"] = datetime.now(UTC)
    try:
        result = await conn.execute(
            channels.update().where(channels.c.id == channel_id).values(**values)
        )
    except IntegrityError as exc:
        raise _name_taken(exc, values.get("name")) from None
    if not result.rowcount:
        return None
    await config_changed(conn)
    return await get_channel(conn, box, channel_id)


async def reseal_secrets(conn: AsyncConnection, box: SecretBox) -> list[str]:
    """Seal every channel's secrets again under the newest key, so that older keys can be
    retired; the names of the channels re-sealed. A SecretsError naming the channel when
    one does not open (nothing is written then, if the caller's transaction rolls back)."""
    rows = await conn.execute(
        sa.select(channels.c.id, channels.c.name, channels.c.secrets)
        .where(channels.c.secrets.is_not(None))
        .order_by(channels.c.name)
    )
    done = []
    for channel_id, name, sealed in rows.all():
        try:
            resealed = box.reseal(sealed)
        except SecretsError as exc:
            raise SecretsError(f"channel {name!r}: {exc}") from None
        await conn.execute(
            channels.update().where(channels.c.id == channel_id).values(secrets=resealed)
        )
        done.append(str(name))
    return done


async def delete_channel(conn: AsyncConnection, channel_id: uuid.UUID) -> bool:
    result = await conn.execute(channels.delete().where(channels.c.id == channel_id))
    if result.rowcount:
        await config_changed(conn)
    return bool(result.rowcount)


async def disable_gone_channel(conn: AsyncConnection, channel_id: uuid.UUID, reason: str) -> bool:
    """Switch a channel off because its destination no longer exists (HTTP 410)."""
    result = await conn.execute(
        channels.update()
        .where(channels.c.id == channel_id, channels.c.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason, updated_at=datetime.now(UTC))
    )
    if result.rowcount:
        await config_changed(conn)
    return bool(result.rowcount)
