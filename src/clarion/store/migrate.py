"""Apply the Alembic migrations to the configured database (``clarion db migrate``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection

from clarion.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Held while the schema or the built-in rows change, so replicas starting together take turns.
SCHEMA_LOCK = 72616969


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


async def migrate(db: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision``; safe to run on every start and by every replica."""
    async with db.begin() as conn:
        await lock_schema(conn)
        await conn.run_sync(_upgrade, revision)


async def lock_schema(conn: AsyncConnection) -> None:
    """Within a transaction: wait for other replicas' schema work (PostgreSQL; SQLite's
    transactions are already one at a time)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK})
