"""The database connection: one async engine for SQLite (aiosqlite) or PostgreSQL (asyncpg).

Also carries the dispatch wake-up: a new message wakes dispatchers at once, in-process
through an asyncio event and across replicas through PostgreSQL LISTEN/NOTIFY.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from clarion import encoding

DISPATCH_CHANNEL = "clarion_dispatch"
INBOX_CHANNEL = "clarion_inbox"


def async_url(database_url: str) -> URL:
    """Map ``sqlite:///…`` and ``postgresql://…`` to their async drivers."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+asyncpg")
    raise ValueError(
        f"unsupported database URL scheme {url.drivername!r}: use sqlite:///path or postgresql://…"
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transactions into our own hands so every one starts BEGIN IMMEDIATE:
        # one writer at a time, waiting on busy_timeout instead of failing mid-transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL (it stays so). The switch needs the file to itself and SQLite
    does not wait for that, so a process starting alongside another one tries again."""
    for attempt in range(50):
        try:
            cursor.execute("PRAGMA journal_mode")
            if cursor.fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.1)  # in aiosqlite's connection thread, not the event loop


class Database:
    """The engine plus the wake-up signal shared by intake and dispatchers."""

    def __init__(self, database_url: str, *, pool_size: int = 10):
        self.url = async_url(database_url)
        self.dialect = "sqlite" if self.url.get_backend_name() == "sqlite" else "postgresql"
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["pool_size"] = 4
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            json_serializer=encoding.dumps_text,
            json_deserializer=encoding.loads,
            **kwargs,
        )
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        self.wakeup = asyncio.Event()
        self._inbox_listeners: set[asyncio.Queue[str]] = set()
        self._listener: Any = None

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A transaction: committed when the block ends, rolled back on error."""
        async with self.engine.begin() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def raw_postgres(self) -> AsyncIterator[Any]:
        """A pooled connection's own asyncpg connection, outside any transaction (autocommit
        per statement): for the queue's hot statements, which skip SQLAlchemy's per-row work.
        The connection keeps the JSON codecs SQLAlchemy set up on it."""
        assert self.is_postgres, "raw_postgres is for PostgreSQL only"
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            yield raw.driver_connection

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def notify_dispatch(self, conn: AsyncConnection) -> None:
        """Inside the enqueuing transaction: wake dispatchers of other replicas on commit."""
        if self.is_postgres:
            await conn.execute(sa.text("SELECT pg_notify(:c, '')"), {"c": DISPATCH_CHANNEL})

    def wake_local(self) -> None:
        self.wakeup.set()

    async def notify_inbox(self, conn: AsyncConnection, user_ids: set[str]) -> None:
        """After inbox messages are delivered: tell SSE streams, here and on other replicas."""
        if self.is_postgres:
            for user_id in user_ids:
                await conn.execute(
                    sa.text("SELECT pg_notify(:c, :u)"), {"c": INBOX_CHANNEL, "u": user_id}
                )

    def publish_inbox_local(self, user_ids: set[str]) -> None:
        for queue in list(self._inbox_listeners):
            for user_id in user_ids:
                queue.put_nowait(user_id)

    @contextlib.contextmanager
    def inbox_subscription(self) -> Any:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._inbox_listeners.add(queue)
        try:
            yield queue
        finally:
            self._inbox_listeners.discard(queue)

    async def start_listening(self) -> None:
        """Open the LISTEN connection (PostgreSQL only): remote notifies wake this process."""
        if not self.is_postgres or self._listener is not None:
            return
        import asyncpg

        dsn = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)

        def on_dispatch(*_: Any) -> None:
            self.wakeup.set()

        def on_inbox(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            self.publish_inbox_local({payload})

        await conn.add_listener(DISPATCH_CHANNEL, on_dispatch)
        await conn.add_listener(INBOX_CHANNEL, on_inbox)
        self._listener = conn

    async def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
        await self.engine.dispose()
