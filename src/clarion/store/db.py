"""The database connection: one async engine for SQLite (aiosqlite) or PostgreSQL (asyncpg).

Also carries the dispatch wake-up: a new message wakes dispatchers at once, in-process
through an asyncio event and across replicas through PostgreSQL LISTEN/NOTIFY.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from clarion import encoding
from clarion.store._aiosqlite import run_on_connection_thread

DISPATCH_CHANNEL = "clarion_dispatch"
# The payload of a DISPATCH_CHANNEL notice for a change to shared configuration.
CONFIG_CHANGED = "config"
# Marks a connection whose transaction changed shared configuration (see config_changed).
_CONFIG_CHANGED = "clarion_config_changed"
# How often a process on SQLite looks for commits by other processes (which wake its
# dispatcher, as NOTIFY does on PostgreSQL).
SQLITE_CHANGE_POLL = 0.05
_READ_ONLY = "clarion_read_only"
INBOX_CHANNEL = "clarion_inbox"
# Waits between attempts to LISTEN again after the connection was lost (seconds).
RELISTEN_FIRST_WAIT = 0.5
RELISTEN_MAX_WAIT = 5.0
T = TypeVar("T")


class DatabaseUnavailable(Exception):
    """The database cannot be reached (down, restarting, or refusing connections)."""


# What may say the database is down: handlers for these ask unavailable_reason.
ERRORS_THAT_MAY_BE_AN_OUTAGE: tuple[type[Exception], ...] = (
    DatabaseUnavailable,
    ConnectionError,
    socket.gaierror,
    sa.exc.SQLAlchemyError,
)


def unavailable_reason(exc: BaseException) -> str | None:
    """Why the database is unreachable, if ``exc`` says it is (else None).

    A statement's own error (a constraint, a syntax error) is not an outage, and neither
    is any other bug: only connection-level failures count.
    """
    if isinstance(exc, DatabaseUnavailable):
        return str(exc)
    if isinstance(exc, sa.exc.TimeoutError):
        return "no connection to it came free in time"
    cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return f"the connection was lost ({type(cause).__name__})"
    for error in _causes(cause):
        if isinstance(error, ConnectionError | socket.gaierror | TimeoutError):
            return f"it cannot be reached ({type(error).__name__})"
        if {k.__name__ for k in type(error).__mro__} & _ASYNCPG_OUTAGES:
            return f"it is not accepting connections ({type(error).__name__})"
        # asyncpg's words for a statement on a connection that is gone; other interface
        # errors are bugs, not outages.
        if type(error).__module__.startswith("asyncpg") and "connection is closed" in str(error):
            return "the connection was lost"
    if isinstance(cause, sqlite3.OperationalError) and "unable to open" in str(cause):
        return "its file cannot be opened"
    return None


# asyncpg's errors for a server that is starting, stopping, refusing connections or gone
# (by class name: asyncpg is imported only when PostgreSQL is used).
_ASYNCPG_OUTAGES = frozenset(
    {
        "CannotConnectNowError",
        "AdminShutdownError",
        "CrashShutdownError",
        "PostgresConnectionError",
        "TooManyConnectionsError",
    }
)


def _causes(error: BaseException | None) -> list[BaseException]:
    """``error`` and what caused it (the driver's own error under SQLAlchemy's wrapper)."""
    chain: list[BaseException] = []
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__
    return chain


def printable_url(database_url: str) -> str:
    """The database URL with its password hidden, to print or log."""
    return make_url(database_url).render_as_string(hide_password=True)


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


async def config_changed(conn: AsyncConnection) -> None:
    """In a :meth:`Database.begin` transaction that changes shared configuration (settings,
    event types, channels): once it commits, every process drops what it read of it and its
    dispatchers wake (PostgreSQL: a NOTIFY; SQLite: other processes see the file change)."""
    conn.info[_CONFIG_CHANGED] = True
    if conn.dialect.name == "postgresql":
        await conn.execute(
            sa.text("SELECT pg_notify(:c, :p)"), {"c": DISPATCH_CHANNEL, "p": CONFIG_CHANGED}
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
        # Reads (Database.read) begin deferred: in WAL mode they neither wait for the writer
        # nor hold it up. Everything else takes the write lock at once.
        read = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


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


def _in_transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
    except BaseException:
        if conn.in_transaction:  # SQLite ends it itself on some errors (a full disk)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


async def in_sqlite_thread(conn: AsyncConnection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work`` on the SQLite connection under ``conn``, in whatever transaction it has
    open, in one trip to the connection's thread (through aiosqlite's queue to its thread,
    as SQLAlchemy's own adapter does): a few statements cost one hop, not one each."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if not isinstance(driver, aiosqlite.Connection):
        raise TypeError(f"in_sqlite_thread needs an aiosqlite connection, not {type(driver)}")
    return await run_on_connection_thread(driver, work)


class Database:
    """The engine plus the wake-up signal shared by intake and dispatchers."""

    def __init__(self, database_url: str, *, pool_size: int = 10):
        self.url = async_url(database_url)
        self.dialect = "sqlite" if self.url.get_backend_name() == "sqlite" else "postgresql"
        kwargs: dict[str, Any] = {}
        # The SQLite database's file (None on PostgreSQL and for an in-memory database).
        self.sqlite_file: str | None = None
        if self.dialect == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                self.sqlite_file = self.url.database
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
        # SQLite has one writer: this process's write transactions queue here, in order,
        # instead of polling SQLite's lock with sleeps (busy_timeout).
        self._write_lock = asyncio.Lock()
        self.wakeup = asyncio.Event()
        # Counts the changes to shared configuration (settings, event types, channels)
        # heard of, here or from other processes: what was read of it before is stale.
        self.config_generation = 0
        self._inbox_listeners: set[asyncio.Queue[str]] = set()
        self._listener: Any = None
        self._relistener: asyncio.Task[None] | None = None
        self._closing = False
        self._watcher: asyncio.Task[None] | None = None

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A transaction: committed when the block ends, rolled back on error.

        On SQLite it holds the database's one write lock throughout: keep it short, and do
        the reading and rendering that comes before the writes in :meth:`read`.
        """
        async with contextlib.AsyncExitStack() as stack:
            if not self.is_postgres:
                await stack.enter_async_context(self._write_lock)
            conn = await stack.enter_async_context(self.engine.begin())
            try:
                yield conn
            except BaseException:
                # Rolled back: nothing changed. A connection cut off mid-statement (a
                # cancelled task) cannot show its info; the error in hand must propagate.
                with contextlib.suppress(Exception):
                    conn.info.pop(_CONFIG_CHANGED, None)
                raise
            changed = conn.info.pop(_CONFIG_CHANGED, False)
        if changed:  # committed: here at once, elsewhere by NOTIFY or the file's counter
            self.wake_local(config=True)

    async def sqlite_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` as one write transaction in a single trip to the SQLite connection's
        thread: BEGIN IMMEDIATE, ``work``, COMMIT. The file's one write lock is then held only
        while SQLite works, not also while this process's busy event loop gets round to the
        next statement, which other processes would wait for."""
        assert not self.is_postgres, "sqlite_transaction is for SQLite only"
        async with self._write_lock, self.engine.connect() as conn:
            return await in_sqlite_thread(conn, lambda c: _in_transaction(c, work))

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reading only (never committed). On SQLite its transactions do
        not take the write lock, so reads go on while another transaction writes."""
        async with self.engine.connect() as conn:
            if not self.is_postgres:
                await conn.execution_options(**{_READ_ONLY: True})
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
        async with self.read() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def notify_dispatch(self, conn: AsyncConnection) -> None:
        """Inside the enqueuing transaction: wake dispatchers of other replicas on commit."""
        if self.is_postgres:
            await conn.execute(sa.text("SELECT pg_notify(:c, '')"), {"c": DISPATCH_CHANNEL})

    def wake_local(self, *, config: bool = False) -> None:
        """Wake this process's dispatcher; ``config``: shared configuration changed."""
        if config:
            self.config_generation += 1
        self.wakeup.set()

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
        """Be woken by other processes' new messages: LISTEN on PostgreSQL; on a SQLite
        file, a look every SQLITE_CHANGE_POLL at whether another connection committed."""
        if self.sqlite_file and self._watcher is None:
            self._watcher = asyncio.create_task(self._watch_sqlite(), name="clarion-sqlite-watch")
        if not self.is_postgres or self._listener is not None:
            return
        import asyncpg

        dsn = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)

        def on_dispatch(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            self.wake_local(config=payload == CONFIG_CHANGED)

        def on_inbox(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            self.publish_inbox_local({payload})

        def on_lost(_conn: Any) -> None:
            if self._listener is conn and not self._closing:
                self._listener = None
                self._relistener = asyncio.create_task(self._listen_again(), name="relisten")

        await conn.add_listener(DISPATCH_CHANNEL, on_dispatch)
        await conn.add_listener(INBOX_CHANNEL, on_inbox)
        conn.add_termination_listener(on_lost)
        self._listener = conn

    @property
    def listening(self) -> bool:
        """Whether other processes' commits wake this one: LISTEN on PostgreSQL, the file's
        watcher on SQLite (an in-memory database has no other process)."""
        if self.is_postgres:
            return self._listener is not None and not self._listener.is_closed()
        return self.sqlite_file is None or (self._watcher is not None and not self._watcher.done())

    async def _listen_again(self) -> None:
        """After the LISTEN connection was lost (a database restart): connect again, with
        growing waits; meanwhile the dispatchers fall back to their poll."""
        wait = RELISTEN_FIRST_WAIT
        while not self._closing and self._listener is None:
            await asyncio.sleep(wait)
            try:
                await self.start_listening()
            except Exception:
                wait = min(wait * 2, RELISTEN_MAX_WAIT)
            else:
                # Notices sent while it was gone are lost: look at the queue and settings.
                self.wake_local(config=True)

    async def _watch_sqlite(self) -> None:
        assert self.sqlite_file
        # Its own connection, used on the event loop: the check is a read of SQLite's
        # shared memory, microseconds, and never waits (timeout 0: a busy file is skipped).
        conn = sqlite3.connect(self.sqlite_file, timeout=0, isolation_level=None)
        try:
            seen = None
            while True:
                with contextlib.suppress(sqlite3.OperationalError):
                    # Changes when any other connection, of any process, has committed.
                    version = conn.execute("PRAGMA data_version").fetchone()[0]
                    if seen is not None and version != seen:
                        # Which table changed is unknown: configuration may have.
                        self.wake_local(config=True)
                    seen = version
                await asyncio.sleep(SQLITE_CHANGE_POLL)
        finally:
            conn.close()

    async def close(self) -> None:
        self._closing = True
        if self._relistener is not None:
            self._relistener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relistener
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
        await self.engine.dispose()
