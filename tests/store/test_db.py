"""SQLite's one writer: reads never wait for it, a transaction holds it only while SQLite
works, and a commit by another process wakes this one's dispatcher. On both engines, a
transaction cut off by cancellation ends cancelled."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from clarion.store.db import SQLITE_CHANGE_POLL, Database, config_changed


@pytest.fixture
async def sqlite_file(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Path]:
    path = tmp_path / "clarion.db"
    shutil.copy(sqlite_template, path)
    yield path


def _insert_key(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO idempotency_keys (scope, key, status_code, response, created_at)"
        " VALUES ('s', 'k', 202, '{}', '2026-01-01 00:00:00.000000')"
    )


def _write(path: Path) -> None:
    """Another process's commit, as far as SQLite can tell (its own connection)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        _insert_key(conn)
    finally:
        conn.close()


async def test_reads_go_on_while_a_write_transaction_is_open(sqlite_file: Path) -> None:
    db = Database(f"sqlite:///{sqlite_file}")
    try:
        async with db.begin() as writing:
            await writing.execute(sa.text("DELETE FROM idempotency_keys"))
            # A second BEGIN IMMEDIATE would wait for the writer (busy_timeout, 30 s).
            async with asyncio.timeout(2), db.read() as conn:
                assert (await conn.execute(sa.text("SELECT count(*) FROM users"))).scalar() == 0
    finally:
        await db.close()


async def test_a_transaction_holds_the_write_lock_only_while_sqlite_works(
    sqlite_file: Path,
) -> None:
    db = Database(f"sqlite:///{sqlite_file}")
    started = threading.Event()

    def work(conn: sqlite3.Connection) -> int:
        started.set()
        return conn.execute("DELETE FROM idempotency_keys").rowcount

    try:
        await db.sqlite_transaction(work)  # the pool holds an open connection now
        started.clear()
        task = asyncio.create_task(db.sqlite_transaction(work))
        assert await asyncio.to_thread(started.wait, 5)
        # This process's event loop is busy (blocked here): the transaction must still end,
        # so that another process can write. A statement per trip would wait for the loop.
        time.sleep(0.5)  # noqa: ASYNC251 - blocking the loop is the point
        other = sqlite3.connect(sqlite_file, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # raises "database is locked" if still held
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert await task == 0
    finally:
        await db.close()


async def test_a_failed_transaction_is_rolled_back_and_frees_the_lock(sqlite_file: Path) -> None:
    db = Database(f"sqlite:///{sqlite_file}")

    def fail(conn: sqlite3.Connection) -> None:
        _insert_key(conn)
        raise ValueError("boom")

    count = sa.text("SELECT count(*) FROM idempotency_keys")
    try:
        with pytest.raises(ValueError, match="boom"):
            await db.sqlite_transaction(fail)
        async with db.read() as conn:
            assert (await conn.execute(count)).scalar() == 0
        assert await db.sqlite_transaction(lambda c: c.execute("SELECT 1").fetchone()[0]) == 1
    finally:
        await db.close()


async def test_a_commit_by_another_process_wakes_the_dispatcher(sqlite_file: Path) -> None:
    db = Database(f"sqlite:///{sqlite_file}")
    await db.start_listening()
    try:
        await asyncio.sleep(SQLITE_CHANGE_POLL * 3)
        db.wakeup.clear()
        await asyncio.sleep(SQLITE_CHANGE_POLL * 4)
        assert not db.wakeup.is_set()  # nothing changed: no wake-up
        await asyncio.to_thread(_write, sqlite_file)
        async with asyncio.timeout(2):
            await db.wakeup.wait()
    finally:
        await db.close()


async def test_a_transaction_cut_off_mid_statement_ends_cancelled(db_url: str) -> None:
    """Not with another error: housekeeping catches Exception and goes on, so a cancellation
    turned into one left a task that could not be stopped."""
    db = Database(db_url)
    slow = (
        "SELECT pg_sleep(5)"
        if db.is_postgres
        else "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000)"
        " SELECT count(*) FROM c"
    )

    async def work() -> None:
        async with db.begin() as conn:
            await config_changed(conn)
            await conn.execute(sa.text(slow))

    try:
        task = asyncio.create_task(work())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert db.config_generation == 0  # rolled back: nothing changed
    finally:
        await db.close()


def test_only_connection_failures_count_as_the_database_being_unavailable() -> None:
    """A bug (a bad parameter, a connection used twice) must stay a 500, not a 503 that
    tells clients to retry for ever."""
    import sqlite3

    import asyncpg
    import sqlalchemy as sa

    from clarion.store.db import unavailable_reason

    def wrapped(error: BaseException) -> sa.exc.DBAPIError:
        try:
            raise RuntimeError("driver adapter") from error
        except RuntimeError as adapter:
            return sa.exc.InterfaceError("SELECT 1", {}, adapter)

    assert unavailable_reason(ConnectionRefusedError(111, "refused")) is not None
    assert unavailable_reason(wrapped(asyncpg.exceptions.ConnectionDoesNotExistError())) is not None
    assert unavailable_reason(wrapped(asyncpg.exceptions.CannotConnectNowError())) is not None
    closed = asyncpg.exceptions.InterfaceError(
        "cannot call Connection.fetch(): connection is closed"
    )
    assert unavailable_reason(wrapped(closed)) is not None
    busy = asyncpg.exceptions.InterfaceError("another operation is in progress")
    assert unavailable_reason(wrapped(busy)) is None
    binding = sqlite3.InterfaceError("Error binding parameter 1: type 'dict' is not supported")
    assert unavailable_reason(sa.exc.InterfaceError("SELECT ?", {}, binding)) is None
    assert unavailable_reason(ValueError("a bug")) is None
