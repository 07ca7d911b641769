"""What recipients did with delivered messages (button clicks), kept with the message."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from clarion.store.db import Database
from clarion.store.tables import message_interactions, messages


@dataclass(frozen=True)
class Interaction:
    provider: str
    action: str
    actor: str
    at: datetime


async def record_interactions(
    db: Database, message_id: uuid.UUID, found: list[Interaction]
) -> bool:
    """Keep ``found`` with the message; False (nothing kept) when there is no such message."""
    async with db.begin() as conn:
        exists = await conn.execute(sa.select(messages.c.id).where(messages.c.id == message_id))
        if exists.first() is None:
            return False
        await conn.execute(
            message_interactions.insert(),
            [
                {
                    "message_id": message_id,
                    "provider": i.provider,
                    "action": i.action[:200],
                    "actor": i.actor[:200],
                    "at": i.at,
                }
                for i in found
            ],
        )
    return True


async def interactions_of(db: Database, message_id: uuid.UUID) -> list[Interaction]:
    query = (
        sa.select(message_interactions)
        .where(message_interactions.c.message_id == message_id)
        .order_by(message_interactions.c.at, message_interactions.c.id)
    )
    async with db.read() as conn:
        rows = (await conn.execute(query)).all()
    return [Interaction(r.provider, r.action, r.actor, r.at) for r in rows]
