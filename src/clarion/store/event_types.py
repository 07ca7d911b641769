"""Event types (Coder's "templates"): the built-in catalog plus admins' custom ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.errors import Conflict
from clarion.store.db import Database, config_changed
from clarion.store.migrate import lock_schema
from clarion.store.tables import event_types
from clarion.store.unique import taken


class _ActionLike(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def url(self) -> str: ...


class EventTypeDefinition(Protocol):
    """What the catalog provides for each built-in type (read-only: frozen dataclasses)."""

    @property
    def key(self) -> str: ...
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def title_template(self) -> str: ...
    @property
    def body_template(self) -> str: ...
    @property
    def actions(self) -> Sequence[_ActionLike]: ...
    @property
    def required_labels(self) -> Sequence[str]: ...
    @property
    def recipients(self) -> Sequence[str]: ...
    @property
    def enabled_by_default(self) -> bool: ...


@dataclass(frozen=True)
class EventType:
    key: str
    id: uuid.UUID
    name: str
    group: str
    title_template: str
    body_template: str
    actions: list[dict[str, str]]
    required_labels: list[str]
    recipients: list[str]
    enabled_by_default: bool
    enabled: bool
    method: str | None
    kind: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["id"] = str(self.id)
        return out


def _event_type(row: Any) -> EventType:
    m = row._mapping
    return EventType(**{f: m[f] for f in EventType.__dataclass_fields__})


async def sync_builtin_event_types(db: Database, catalog: Iterable[EventTypeDefinition]) -> None:
    """Insert new built-ins and refresh the templates of existing ones.

    An admin's choices (``enabled``, ``method``) are kept across upgrades.
    """
    now = datetime.now(UTC)
    async with db.begin() as conn:
        await lock_schema(conn)
        existing = set((await conn.execute(sa.select(event_types.c.key))).scalars())
        for spec in catalog:
            values = {
                "id": spec.id,
                "name": spec.name,
                "group": spec.group,
                "title_template": spec.title_template,
                "body_template": spec.body_template,
                "actions": [{"label": a.label, "url": a.url} for a in spec.actions],
                "required_labels": list(spec.required_labels),
                "recipients": list(spec.recipients),
                "enabled_by_default": spec.enabled_by_default,
                "kind": "system",
                "updated_at": now,
            }
            if spec.key in existing:
                await conn.execute(
                    event_types.update().where(event_types.c.key == spec.key).values(**values)
                )
            else:
                await conn.execute(
                    event_types.insert().values(
                        key=spec.key, enabled=True, method=None, created_at=now, **values
                    )
                )
        await config_changed(conn)  # other replicas may run the templates of an older release


async def get_event_type(conn: AsyncConnection, key: str) -> EventType | None:
    row = (await conn.execute(sa.select(event_types).where(event_types.c.key == key))).first()
    return _event_type(row) if row else None


async def get_event_types(conn: AsyncConnection, keys: Iterable[str]) -> dict[str, EventType]:
    keys = set(keys)
    if not keys:
        return {}
    rows = (await conn.execute(sa.select(event_types).where(event_types.c.key.in_(keys)))).all()
    return {t.key: t for t in map(_event_type, rows)}


async def list_event_types(conn: AsyncConnection) -> list[EventType]:
    query = sa.select(event_types).order_by(event_types.c.group, event_types.c.name)
    return [_event_type(r) for r in (await conn.execute(query)).all()]


async def unknown_event_types(conn: AsyncConnection, keys: Iterable[str]) -> list[str]:
    """Those of ``keys`` that name no event type, sorted."""
    wanted = set(keys)
    if not wanted:
        return []
    query = sa.select(event_types.c.key).where(event_types.c.key.in_(wanted))
    known = {row.key for row in (await conn.execute(query)).all()}
    return sorted(wanted - known)


async def create_event_type(conn: AsyncConnection, key: str, **values: Any) -> EventType:
    """A custom event type; a Conflict when ``key`` is taken."""
    now = datetime.now(UTC)
    insert = event_types.insert().values(
        key=key,
        id=uuid.uuid4(),
        enabled=True,
        kind="custom",
        created_at=now,
        updated_at=now,
        **values,
    )
    try:
        await conn.execute(insert)
    except IntegrityError as exc:
        if "key" not in taken(exc, event_types):
            raise
        raise Conflict(f"event type {key!r} already exists") from None
    await config_changed(conn)
    created = await get_event_type(conn, key)
    assert created is not None
    return created


async def update_event_type(conn: AsyncConnection, key: str, **changes: Any) -> EventType | None:
    changes["updated_at"] = datetime.now(UTC)
    result = await conn.execute(
        event_types.update().where(event_types.c.key == key).values(**changes)
    )
    if not result.rowcount:
        return None
    await config_changed(conn)
    return await get_event_type(conn, key)


async def delete_event_type(conn: AsyncConnection, key: str) -> None:
    await conn.execute(event_types.delete().where(event_types.c.key == key))
    await config_changed(conn)
