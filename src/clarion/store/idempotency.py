"""Answers kept under idempotency keys: a request sent again gets the first answer."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.store.tables import idempotency_keys

Ident = tuple[str, str]  # the caller's scope and the key it gave
Answer = tuple[int, str]  # HTTP status and JSON body, as first answered


async def lock_keys(conn: AsyncConnection, idents: Sequence[Ident]) -> None:
    """Serialise transactions carrying the same keys across replicas, until the caller's
    transaction ends (SQLite transactions already are serial). Taken in one order, so two
    transactions never wait for each other."""
    if conn.dialect.name != "postgresql" or not idents:
        return
    digests = [
        int.from_bytes(hashlib.sha256(f"{scope}:{key}".encode()).digest()[:8], "big") - (1 << 63)
        for scope, key in idents
    ]
    # In one statement, taken in the array's (sorted) order.
    await conn.execute(
        sa.text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:ks AS bigint[])) AS k"),
        {"ks": sorted(digests)},
    )


async def remembered(
    conn: AsyncConnection, idents: Iterable[Ident], *, since: datetime, forget_expired: bool
) -> dict[Ident, Answer]:
    """The answers stored under these keys no earlier than ``since``. With
    ``forget_expired``, older ones are deleted (a write: only in a writing transaction)."""
    idents = set(idents)
    if not idents:
        return {}
    pair = sa.tuple_(idempotency_keys.c.scope, idempotency_keys.c.key)
    rows = (await conn.execute(sa.select(idempotency_keys).where(pair.in_(idents)))).all()
    answers = {(row.scope, row.key): (row.status_code, row.response) for row in rows}
    expired = [(row.scope, row.key) for row in rows if row.created_at < since]
    if expired and forget_expired:
        await conn.execute(idempotency_keys.delete().where(pair.in_(expired)))
    for ident in expired:
        del answers[ident]
    return answers


async def remember(
    conn: AsyncConnection, answers: Sequence[tuple[Ident, Answer]], *, now: datetime
) -> None:
    """Keep each answer under its key, in the caller's transaction."""
    if not answers:
        return
    await conn.execute(
        idempotency_keys.insert(),
        [
            {
                "scope": scope,
                "key": key,
                "status_code": status,
                "response": body,
                "created_at": now,
            }
            for (scope, key), (status, body) in answers
        ],
    )


async def forget_older(conn: AsyncConnection, than: datetime) -> None:
    """Delete the answers stored before ``than``."""
    await conn.execute(idempotency_keys.delete().where(idempotency_keys.c.created_at < than))
