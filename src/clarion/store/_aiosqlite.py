"""The part of aiosqlite clarion uses that aiosqlite does not make public, in one place.

aiosqlite runs each call of a connection on that connection's own thread, one call per trip
through its queue. SQLite work of several statements (a write transaction, a batch insert)
goes there as one function, in one trip, as SQLAlchemy's own aiosqlite adapter does; there
is no public call for that. ``tests/store/test_aiosqlite.py`` checks it, so an aiosqlite
upgrade that changes it fails there, by name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

import aiosqlite

T = TypeVar("T")


async def run_on_connection_thread(
    connection: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]
) -> T:
    """``work(sqlite_connection)`` on ``connection``'s thread, in one trip through its queue;
    what it returns or raises comes back here."""
    result: T = await connection._execute(work, connection._conn)  # type: ignore[no-untyped-call]
    return result
