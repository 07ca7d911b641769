"""Backups of the embedded SQLite database (``clarion db backup`` / ``clarion db restore``).

A backup is taken with SQLite's online backup API in one read transaction: in WAL mode that
is a consistent snapshot, taken while a running server goes on writing. A restore copies a
backup back the same way, into the database file held with an exclusive lock, so it is
refused while any process (a running server) has the database open.

PostgreSQL has its own tools for this (``pg_dump`` / ``pg_restore``); these functions are for
SQLite only.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


POSTGRES_ADVICE = (
    "the database is PostgreSQL: back it up with pg_dump "
    '(pg_dump --format=custom --file clarion.dump "$CLARION_DATABASE_URL") and restore it '
    'with pg_restore (pg_restore --clean --if-exists --dbname "$CLARION_DATABASE_URL" '
    "clarion.dump)"
)


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    revision: str | None  # the schema's migration revision in the copy


def sqlite_file(database_url: str) -> Path:
    """The SQLite file of ``database_url``; BackupError for PostgreSQL or an in-memory one."""
    url = make_url(database_url)
    if url.get_backend_name() in ("postgresql", "postgres"):
        raise BackupError(POSTGRES_ADVICE)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError(f"no database file to back up in {url.render_as_string()!r}")
    return Path(url.database)


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return None if row is None else str(row[0])


def _check(conn: sqlite3.Connection, path: Path) -> str:
    """The copy's schema revision, once SQLite finds it whole and it is clarion's."""
    try:
        result = conn.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database ({exc})") from None
    if result is None or result[0] != "ok":
        raise BackupError(f"{path} is damaged: SQLite's check says {result!r}")
    revision = _revision(conn)
    if revision is None:
        raise BackupError(f"{path} is not a clarion database (it has no schema revision)")
    return revision


def backup(db_file: Path, dest: Path) -> BackupInfo:
    """Copy the live database ``db_file`` to the new file ``dest`` (never overwritten).

    The copy is written beside ``dest`` and renamed into place once whole, in rollback
    journal mode so it is one self-contained file.
    """
    if not db_file.is_file():
        raise BackupError(f"there is no database at {db_file}")
    if dest.exists():
        raise BackupError(f"{dest} exists already; give a new file name")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    temp = Path(temp_name)
    try:
        # The file is opened read-write so that it can join the server's WAL index; the
        # backup only reads it. A busy writer holds the backup's single read back only
        # for busy_timeout, which WAL readers rarely wait on at all.
        source = sqlite3.connect(db_file, timeout=30)
        try:
            copy = sqlite3.connect(temp, isolation_level=None)
            try:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")
                revision = _check(copy, db_file)
            finally:
                copy.close()
        finally:
            source.close()
        os.chmod(temp, 0o600)  # it holds the same tokens and sealed secrets as the database
        os.link(temp, dest)  # fails rather than replace a file made meanwhile
    except FileExistsError:
        raise BackupError(f"{dest} exists already; give a new file name") from None
    finally:
        temp.unlink(missing_ok=True)
    return BackupInfo(path=dest, size=dest.stat().st_size, revision=revision)


def restore(source: Path, db_file: Path) -> BackupInfo:
    """Put the backup ``source`` in place of the database ``db_file``.

    Refused while another process has the database open: the target is opened in SQLite's
    exclusive locking mode and written only once that lock is had, and it is held until the
    copy is done, so no server can start on a half-restored file either.
    """
    if not source.is_file():
        raise BackupError(f"there is no backup at {source}")
    read_only = f"{source.resolve().as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(read_only, uri=True)) as src:
        revision = _check(src, source)
        db_file.parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(db_file, isolation_level=None, timeout=0)
        try:
            try:
                target.execute("PRAGMA locking_mode=EXCLUSIVE")
                # Exclusive locking mode keeps the lock after this transaction ends, so the
                # backup below writes into a file nobody else has open.
                target.execute("BEGIN EXCLUSIVE")
                target.execute("SELECT count(*) FROM sqlite_master").fetchone()
                target.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise BackupError(
                        f"{db_file} is in use: stop every clarion server (and other process) "
                        "using it, then restore"
                    ) from None
                raise BackupError(f"cannot open {db_file}: {exc}") from None
            try:
                src.backup(target)
            except sqlite3.Error as exc:
                raise BackupError(f"cannot restore into {db_file}: {exc}") from None
        finally:
            target.close()
    return BackupInfo(path=db_file, size=db_file.stat().st_size, revision=revision)
