"""All of clarion's SQL. Callers outside hold a :data:`Connection` from
:class:`clarion.store.db.Database` and pass it back in, without importing SQLAlchemy."""

from __future__ import annotations

from typing import TypeAlias

from sqlalchemy.ext.asyncio import AsyncConnection

# A connection in a transaction (``db.begin()``) or a read (``db.read()``).
Connection: TypeAlias = AsyncConnection

__all__ = ["Connection"]
