"""`clarion db backup` / `clarion db restore`: SQLite's online backup, taken from a running
server, restored into a new data directory that a new server then serves."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from clarion.store.backup import BackupError, backup, restore, sqlite_file
from tests.cli.test_cli import clarion, server_env, start_process, wait_healthy
from tests.conftest import free_port


class _Sink(BaseHTTPRequestHandler):
    received: list[dict[str, str]]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append(dict(self.headers))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def sink() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A loopback HTTP receiver; yields (its URL, the headers of each POST)."""
    received: list[dict[str, str]] = []
    handler = type("Sink", (_Sink,), {"received": received})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", received
    finally:
        httpd.shutdown()
        httpd.server_close()


class Server:
    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.env = server_env(data_dir, self.port, CLARION_ALLOW_PRIVATE_DESTINATIONS="true")
        self.log = log
        self._out = log.open("w")
        self.proc = start_process(self.env, self.port, self._out, subprocess.STDOUT)
        try:
            wait_healthy(self.proc, self.port, log.read_text)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self._out.close()


def _messages(env: dict[str, str]) -> list[tuple[str, str, str]]:
    items = json.loads(clarion(env, "--json", "messages", "list").stdout)
    return sorted((m["id"], m["event_type"], m["recipient"]) for m in items)


@pytest.mark.slow
def test_backup_of_a_running_server_restores_into_a_new_data_dir(
    tmp_path: Path, sink: tuple[str, list[dict[str, str]]]
) -> None:
    url, received = sink
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    old = Server(old_dir, tmp_path / "old.log")
    try:
        env = old.env
        clarion(env, "users", "create", "ann@example.com", "--username", "ann")
        labels = ("--label", "name=dev", "--label", "reason=idle", "--label", "initiator=ops")
        clarion(env, "send", "workspace_deleted", "--user", "ann@example.com", *labels)
        headers = json.dumps({"endpoint": url, "headers": {"Authorization": "Bearer kept-1"}})
        channel = json.loads(
            clarion(
                env,
                *("--json", "channels", "add", "ops", "webhook", "--config-json", headers),
                *("--event", "deploy_failed"),
            ).stdout
        )
        deploy = ("project=shop", "application=api", "application_type=app", "error_message=x")
        deploy_labels = [
            a for v in (*deploy, "build_url=https://ci.example.com/1") for a in ("--label", v)
        ]
        clarion(env, "send", "deploy_failed", *deploy_labels)
        before = _messages(env)
        assert len(before) >= 2

        made = clarion(env, "db", "backup", str(tmp_path / "backups" / "clarion.db"))
        assert "backed up to" in made.stdout
        again = clarion(env, "db", "backup", str(tmp_path / "backups" / "clarion.db"), ok=False)
        assert again.returncode == 1 and "exists already" in again.stderr
        # The running server's database is in use: nothing is restored over it.
        busy = clarion(env, "db", "restore", str(tmp_path / "backups" / "clarion.db"), ok=False)
        assert busy.returncode == 1 and "in use" in busy.stderr, busy.stderr
    finally:
        old.stop()

    # What an operator keeps besides the database: the secret key (here the generated file).
    new_dir.mkdir()
    shutil.copy(old_dir / "secret.key", new_dir / "secret.key")
    restore_env = server_env(new_dir, free_port())
    restored = clarion(restore_env, "db", "restore", str(tmp_path / "backups" / "clarion.db"))
    assert "restored" in restored.stdout

    new = Server(new_dir, tmp_path / "new.log")
    try:
        assert _messages(new.env) == before
        received.clear()
        clarion(new.env, "channels", "test", channel["id"])
        # The channel's sealed header was opened with the kept key and sent.
        assert [r.get("Authorization") for r in received] == ["Bearer kept-1"]
    finally:
        new.stop()


def _database(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
        conn.execute("INSERT INTO alembic_version VALUES ('rev1')")
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(rows)])
    conn.close()


def test_restore_is_refused_while_the_database_is_open(tmp_path: Path) -> None:
    _database(tmp_path / "live.db", 10)
    info = backup(tmp_path / "live.db", tmp_path / "copy.db")
    assert info.revision == "rev1" and info.size > 0
    holder = sqlite3.connect(tmp_path / "live.db")
    try:
        holder.execute("DELETE FROM t")
        holder.commit()
        with pytest.raises(BackupError, match="in use"):
            restore(tmp_path / "copy.db", tmp_path / "live.db")
        assert holder.execute("SELECT count(*) FROM t").fetchone() == (0,)
    finally:
        holder.close()
    restore(tmp_path / "copy.db", tmp_path / "live.db")
    with sqlite3.connect(tmp_path / "live.db") as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (10,)
    conn.close()


def test_backup_is_taken_while_another_connection_writes(tmp_path: Path) -> None:
    """The copy is one snapshot: a transaction left open by a writer is not in it."""
    _database(tmp_path / "live.db", 100)
    writer = sqlite3.connect(tmp_path / "live.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM t WHERE x < 50")
        backup(tmp_path / "live.db", tmp_path / "copy.db")
        writer.execute("COMMIT")
    finally:
        writer.close()
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (100,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    conn.close()


def test_a_file_that_is_not_a_clarion_database_is_not_restored(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database, but long enough to look at " * 40)
    with pytest.raises(BackupError, match="not a SQLite database"):
        restore(tmp_path / "notes.txt", tmp_path / "live.db")
    with sqlite3.connect(tmp_path / "other.db") as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    conn.close()
    with pytest.raises(BackupError, match="not a clarion database"):
        restore(tmp_path / "other.db", tmp_path / "live.db")
    assert not (tmp_path / "live.db").exists()


def test_postgresql_is_pointed_to_pg_dump_and_pg_restore() -> None:
    with pytest.raises(BackupError, match=r"pg_dump.*pg_restore"):
        sqlite_file("postgresql://clarion@db:5432/clarion")
    assert sqlite_file("sqlite:////var/lib/clarion/clarion.db") == Path(
        "/var/lib/clarion/clarion.db"
    )


def test_the_cli_refuses_postgresql_urls(tmp_path: Path) -> None:
    env = server_env(tmp_path, free_port())
    env["CLARION_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:5432/none"
    for command in ("backup", "restore"):
        result = clarion(env, "db", command, str(tmp_path / "x.db"), ok=False)
        assert result.returncode == 1 and "pg_dump" in result.stderr, result.stderr
