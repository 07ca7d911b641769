"""The private aiosqlite call clarion.store._aiosqlite relies on still works as it expects."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import aiosqlite
import pytest

from clarion.store._aiosqlite import run_on_connection_thread


async def test_work_runs_in_one_trip_on_the_connections_own_thread(tmp_path: Path) -> None:
    assert callable(getattr(aiosqlite.Connection, "_execute", None))
    async with aiosqlite.connect(tmp_path / "x.db") as connection:
        await connection.execute("CREATE TABLE t (n INTEGER)")
        seen: list[tuple[sqlite3.Connection, int]] = []

        def work(conn: sqlite3.Connection) -> int:
            seen.append((conn, threading.get_ident()))
            conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
            return int(conn.execute("SELECT sum(n) FROM t").fetchone()[0])

        assert await run_on_connection_thread(connection, work) == 3
        conn, thread = seen[0]
        assert isinstance(conn, sqlite3.Connection)
        assert thread != threading.get_ident()
        # The same connection aiosqlite's own calls use: they see the rows.
        async with connection.execute("SELECT count(*) FROM t") as cursor:
            assert await cursor.fetchone() == (2,)


async def test_an_error_in_the_work_comes_back_to_the_caller(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "x.db") as connection:

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("SELECT * FROM missing")

        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await run_on_connection_thread(connection, work)
