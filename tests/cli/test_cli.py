"""`clarion server` as a real process on SQLite, driven by the `clarion` CLI through the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port

TOKEN = "cli-test-admin-token"
# Each test starts `clarion` processes (Python start-up, migrations): seconds apiece.
pytestmark = pytest.mark.slow


def server_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "CLARION_DATA_DIR": str(data_dir),
        "CLARION_ADMIN_TOKEN": TOKEN,
        "CLARION_METHOD": "inbox",
        "CLARION_URL": f"http://127.0.0.1:{port}",
        "CLARION_TOKEN": TOKEN,
        "COLUMNS": "200",
        **extra,
    }
    env.pop("CLARION_DATABASE_URL", None)
    return env


def start_process(
    env: dict[str, str], port: int, stdout: Any, stderr: Any
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "clarion", "server", "--http-address", f"127.0.0.1:{port}"],
        env=env,
        stdout=stdout,
        stderr=stderr,
        text=True,
    )


def wait_healthy(proc: subprocess.Popen[str], port: int, output: Callable[[], str]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                assert json.load(r) == {"status": "ok", "database": "ok"}
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not come up:\n{output()}") from None
            time.sleep(0.2)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, str]]:
    port = free_port()
    env = server_env(tmp_path / "data", port)
    proc = start_process(env, port, subprocess.PIPE, subprocess.STDOUT)
    try:
        wait_healthy(proc, port, lambda: proc.stdout.read() if proc.stdout else "")
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert (tmp_path / "data" / "clarion.db").exists()  # the embedded SQLite default


def test_server_with_a_bad_setting_says_which_in_one_line(tmp_path: Path) -> None:
    env = server_env(tmp_path, free_port(), CLARION_LEASE_PERIOD="10s")
    proc = start_process(env, free_port(), subprocess.PIPE, subprocess.PIPE)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("invalid setting"), err
    assert "CLARION_LEASE_PERIOD" in err and "Traceback" not in err


def test_two_servers_starting_together_on_a_new_sqlite_file(tmp_path: Path) -> None:
    """Both make the data dir, its secret key and the WAL switch race-free (three tries):
    both come up, and a secret sealed through one opens through the other (one key)."""
    for attempt in range(3):
        data_dir = tmp_path / f"data{attempt}"
        ports = [free_port(), free_port()]
        procs = [
            start_process(server_env(data_dir, port), port, subprocess.PIPE, subprocess.STDOUT)
            for port in ports
        ]
        try:
            for proc, port in zip(procs, ports, strict=True):
                wait_healthy(proc, port, lambda p=proc: p.stdout.read() if p.stdout else "")
            first, second = (f"http://127.0.0.1:{port}" for port in ports)
            body = {
                "name": "ops hook",
                "kind": "webhook",
                "config": {"endpoint": "http://127.0.0.1:9/hook?token=sealed-value"},
            }
            status, made = api(first, "POST", "/api/v1/channels", body)
            assert status == 201, made
            status, read = api(second, "GET", f"/api/v1/channels/{made['id']}")
            assert status == 200, read  # the other server opened what the first one sealed
            assert read["config"] == made["config"]
            assert sorted(p.name for p in data_dir.iterdir() if "secret" in p.name) == [
                "secret.key"
            ]
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=20)


def api(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def clarion(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "clarion", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_cli_drives_a_running_server(server: dict[str, str]) -> None:
    env = server
    clarion(env, "users", "create", "owner@example.com", "--name", "Olive", "--role", "owner")
    clarion(env, "users", "create", "ann@example.com", "--username", "ann")
    users = json.loads(clarion(env, "--json", "users", "list").stdout)
    assert {u["email"] for u in users} >= {"owner@example.com", "ann@example.com"}

    sent = clarion(
        env,
        "--json",
        "send",
        "workspace_deleted",
        "--user",
        "ann@example.com",
        "--label",
        "name=dev",
        "--label",
        "reason=idle",
        "--label",
        "initiator=ops",
    )
    event = json.loads(sent.stdout)
    assert event["messages"][0]["method"] == "inbox"

    bad = clarion(env, "send", "workspace_deleted", "--user", "ann@example.com", ok=False)
    assert bad.returncode == 1 and "requires label" in bad.stderr

    clarion(env, "notifications", "pause")
    assert clarion(env, "notifications", "status").stdout.strip() == "paused"
    clarion(env, "notifications", "resume")
    assert clarion(env, "notifications", "status").stdout.strip() == "running"

    token = clarion(env, "tokens", "create", "--user", "ann@example.com").stdout.strip()
    assert token.startswith("clarion_")
    ann_env = {**env, "CLARION_TOKEN": token}
    deadline = time.monotonic() + 10
    while True:
        mine = json.loads(clarion(ann_env, "--json", "messages", "list").stdout)
        if any(m["status"] == "sent" for m in mine):
            break
        assert time.monotonic() < deadline, mine
        time.sleep(0.2)
    assert {m["recipient"] for m in mine} == {"ann@example.com"}
    clarion(env, "users", "suspend", "ann@example.com")
    denied = clarion(ann_env, "messages", "list", ok=False)
    assert denied.returncode == 1 and "401" in denied.stderr
    listing = clarion(env, "messages", "list", "--status", "sent").stdout
    assert "workspace_deleted" in listing
    again = clarion(env, "messages", "retry", event["messages"][0]["id"], ok=False)
    assert again.returncode == 1 and "409" in again.stderr and "is sent" in again.stderr

    nowhere = f"http://127.0.0.1:{free_port()}/hook"
    added = json.loads(
        clarion(
            env,
            "--json",
            "channels",
            "add",
            "ops",
            "webhook",
            "--config",
            f"endpoint={nowhere}",
            "--event",
            "deploy_failed",
        ).stdout
    )
    assert added["kind"] == "webhook" and added["events"] == ["deploy_failed"]
    listed = json.loads(clarion(env, "--json", "channels", "list").stdout)
    assert [c["name"] for c in listed] == ["ops"]
    failed = clarion(env, "channels", "test", added["id"], ok=False)
    # This server does not allow private destinations: the guard says so and how to change it.
    assert failed.returncode == 1 and "CLARION_ALLOW_PRIVATE_DESTINATIONS" in failed.stdout
    clarion(env, "channels", "remove", added["id"])
    assert json.loads(clarion(env, "--json", "channels", "list").stdout) == []


@pytest.fixture
def json_server(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """A server logging JSON to a file (stderr), retrying fast; yields (env, log file)."""
    port = free_port()
    env = server_env(
        tmp_path / "data",
        port,
        CLARION_LOG_FORMAT="json",
        CLARION_ALLOW_PRIVATE_DESTINATIONS="true",
        CLARION_RETRY_INTERVAL="100ms",
        CLARION_MAX_SEND_ATTEMPTS="2",
        CLARION_FETCH_INTERVAL="1s",
    )
    log_file = tmp_path / "server.log"
    with (tmp_path / "server.out").open("w") as out, log_file.open("w") as log:
        proc = start_process(env, port, out, log)
        try:
            wait_healthy(proc, port, log_file.read_text)
            yield env, log_file
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def test_messages_stats_and_json_delivery_logs(json_server: tuple[dict[str, str], Path]) -> None:
    env, log_file = json_server
    clarion(env, "users", "create", "ann@example.com")
    event = json.loads(
        clarion(
            env,
            "--json",
            "send",
            "workspace_deleted",
            "--user",
            "ann@example.com",
            *("--label", "name=dev", "--label", "reason=idle", "--label", "initiator=ops"),
        ).stdout
    )
    [inbox_message] = event["messages"]
    # Nothing listens on this port: each attempt is refused, retried once, then given up.
    nowhere = f"http://127.0.0.1:{free_port()}/hook"
    channel = json.loads(
        clarion(
            env,
            *("--json", "channels", "add", "ops", "webhook", "--config", f"endpoint={nowhere}"),
            *("--event", "deploy_failed"),
        ).stdout
    )
    labels = {
        "project": "shop",
        "application": "api",
        "application_type": "application",
        "error_message": "exit 1",
        "build_url": "https://ci.example.com/b/1",
    }
    label_args = [arg for k, v in labels.items() for arg in ("--label", f"{k}={v}")]
    deploy = json.loads(clarion(env, "--json", "send", "deploy_failed", *label_args).stdout)
    [channel_message] = deploy["messages"]

    deadline = time.monotonic() + 15
    while True:
        stats = json.loads(clarion(env, "--json", "messages", "stats").stdout)
        if stats["window"]["unfinished"] == 0:
            break
        assert time.monotonic() < deadline, stats
        time.sleep(0.2)
    assert stats["by_status"]["sent"] == 1 and stats["by_status"]["permanent_failure"] == 1
    assert stats["by_method"]["inbox"]["sent"] == 1
    assert stats["by_method"]["channel:webhook"]["permanent_failure"] == 1
    assert stats["by_method"]["channel:webhook"]["retried"] == 1
    assert stats["paused"] is False and stats["oldest_pending_age_seconds"] is None

    table = clarion(env, "messages", "stats", "--since", "1h").stdout
    assert "delivery: running" in table and "oldest unsent message: none waiting" in table
    assert "By method, created in the last 1h" in table
    rows = {line.split("│")[1].strip(): line for line in table.splitlines() if "│" in line}
    cells = {name: [c.strip() for c in line.split("│")[2:-1]] for name, line in rows.items()}
    # messages, sent, failed, retried, unfinished, inhibited
    assert cells["inbox"] == ["1", "1", "0", "0", "0", "0"]
    assert cells["channel:webhook"] == ["1", "0", "1", "1", "0", "0"]
    assert cells["total"] == ["2", "1", "1", "1", "0", "0"]
    clarion(env, "notifications", "pause")
    assert "delivery: paused" in clarion(env, "messages", "stats").stdout

    # Every log line is one JSON object; delivery lines say which message, event and channel.
    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    by_event = {(line["event"], line.get("message_id")): line for line in lines}
    delivered = by_event["notification delivered", inbox_message["id"]]
    assert delivered["level"] == "info" and delivered["timestamp"].endswith("Z")
    assert delivered["event_type"] == "workspace_deleted" and delivered["method"] == "inbox"
    assert delivered["recipient"] == "ann@example.com"
    for event_name in ("notification delivery will be retried", "notification delivery failed"):
        line = by_event[event_name, channel_message["id"]]
        assert line["event_type"] == "deploy_failed" and line["method"] == "channel:webhook"
        assert line["channel_id"] == channel["id"] and line["channel_kind"] == "webhook"
        assert line["recipient"] == "ops" and "could not connect" in line["reason"]


def test_secrets_rotate_reseals_under_the_newest_key(db_url: str, tmp_path: Path) -> None:
    import asyncio

    from cryptography.fernet import Fernet

    from clarion.secrets import SecretBox, SecretsError, load_keys
    from clarion.store import channels as store
    from clarion.store.db import Database

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    secret = {"app_token": "AgotifyToken"}

    async def plant() -> None:
        db = Database(db_url)
        try:
            async with db.begin() as conn:
                await store.create_channel(
                    conn,
                    SecretBox(load_keys(old, tmp_path)),
                    name="phones",
                    kind="gotify",
                    config={"server_url": "https://gotify.example.com", "priority": 5},
                    secrets=secret,
                    events=[],
                    enabled=True,
                )
        finally:
            await db.close()

    async def opened(key: str) -> dict[str, Any]:
        db = Database(db_url)
        try:
            async with db.read() as conn:
                [channel] = await store.list_channels(conn, SecretBox(load_keys(key, tmp_path)))
            return channel.secrets
        finally:
            await db.close()

    def rotate(keys: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "CLARION_DATABASE_URL": db_url,
            "CLARION_SECRET_KEY": keys,
            "CLARION_DATA_DIR": str(tmp_path / "data"),
        }
        return subprocess.run(
            [sys.executable, "-m", "clarion", "secrets", "rotate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    asyncio.run(plant())
    # Without the key it was sealed with: refused, and nothing is written.
    refused = rotate(new)
    assert refused.returncode == 1 and "phones" in refused.stderr, refused
    assert "AgotifyToken" not in refused.stderr + refused.stdout
    assert asyncio.run(opened(old)) == secret

    done = rotate(f"{new},{old}")
    assert done.returncode == 0, done.stderr
    assert "1 channel" in done.stdout
    assert asyncio.run(opened(new)) == secret
    with pytest.raises(SecretsError):
        asyncio.run(opened(old))
