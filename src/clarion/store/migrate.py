"""Apply the Alembic migrations to the configured database (``clarion db migrate``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from clarion.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


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
        if db.is_postgres:
            # Replicas starting together: one migrates, the others wait for it.
            from sqlalchemy import text

            await conn.execute(text("SELECT pg_advisory_xact_lock(72616969)"))
        await conn.run_sync(_upgrade, revision)
