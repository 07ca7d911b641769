"""The database goes away for ~10 s while events arrive, then comes back.

On a PostgreSQL cluster of the test's own: the API answers 503 with a clear message and
stores nothing half-way, /readyz says why, and dispatch resumes by itself afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.conftest import ADMIN_TOKEN, ARTIFACTS, free_port
from tests.fakes.pgcluster import PgCluster
from tests.fakes.sink import HttpSink

OUTAGE_SECONDS = 10.0


def _event(name: str) -> dict[str, object]:
    return {
        "type": "workspace_deleted",
        "user_email": "ann@example.com",
        "labels": {"name": name, "reason": "idle", "initiator": "ops"},
    }


def _start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "clarion", "server", "--http-address", f"127.0.0.1:{port}"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.slow
async def test_database_outage_is_a_503_and_dispatch_resumes(tmp_path: Path) -> None:
    cluster = PgCluster().init()
    try:
        await _outage(cluster, tmp_path)
    finally:
        cluster.remove()


async def _outage(cluster: PgCluster, tmp_path: Path) -> None:
    await asyncio.to_thread(cluster.start)
    sink = await HttpSink().start()
    port = free_port()
    env = {
        **os.environ,
        "CLARION_DATABASE_URL": cluster.url,
        "CLARION_DATA_DIR": str(tmp_path / "data"),
        "CLARION_ADMIN_TOKEN": ADMIN_TOKEN,
        "CLARION_METHOD": "webhook",
        "CLARION_WEBHOOK_ENDPOINT": sink.url + "/hook",
        "CLARION_ALLOW_PRIVATE_DESTINATIONS": "true",
        "CLARION_FETCH_INTERVAL": "2s",
    }
    log = tmp_path / "server.log"
    server = _start_server(env, port, log)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    timeline: list[tuple[float, str]] = []
    began = time.monotonic()

    def note(what: str) -> None:
        timeline.append((round(time.monotonic() - began, 2), what))

    try:
        async with aiohttp.ClientSession(headers=headers) as http:

            async def call(method: str, path: str, body: object = None) -> tuple[int, dict]:
                async with http.request(method, base + path, json=body) as answer:
                    return answer.status, json.loads(await answer.read() or b"{}")

            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await call("GET", "/healthz"))[0] == 200:
                        break
                except aiohttp.ClientError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.2)
            assert (await call("POST", "/api/v1/users", {"email": "ann@example.com"}))[0] == 201
            assert (await call("POST", "/api/v1/events", _event("before")))[0] == 202
            await sink.wait_for(1)
            note("delivered before the outage")

            await asyncio.to_thread(cluster.stop)
            note("database stopped")
            refusals: list[tuple[int, dict]] = []
            stopped_at = time.monotonic()
            n = 0
            while time.monotonic() - stopped_at < OUTAGE_SECONDS:
                n += 1
                refusals.append(await call("POST", "/api/v1/events", _event(f"down{n}")))
                await asyncio.sleep(0.5)
            ready_status, ready = await call("GET", "/readyz")
            note(f"{len(refusals)} events posted during the outage")

            await asyncio.to_thread(cluster.start)
            note("database started")
            accepted = None
            deadline = time.monotonic() + 30
            while accepted is None:
                status, body = await call("POST", "/api/v1/events", _event("after"))
                if status == 202:
                    accepted = body
                    note("first event accepted after the outage")
                else:
                    assert time.monotonic() < deadline, (status, body)
                    await asyncio.sleep(0.25)
            await sink.wait_for(2, timeout=30)
            note("first delivery after the outage")
            deadline = time.monotonic() + 30
            while (ready_after := await call("GET", "/readyz"))[1].get("listening") is not True:
                assert time.monotonic() < deadline, ready_after
                await asyncio.sleep(0.25)
            note("listening for other replicas again")
    finally:
        server.terminate()
        await asyncio.to_thread(server.wait, 30)
        await sink.stop()

    conn = await asyncpg.connect(cluster.url)
    try:
        query = "SELECT labels->>'name' AS name FROM events WHERE type = 'workspace_deleted'"
        stored = sorted(r["name"] for r in await conn.fetch(query))
        messages = await conn.fetchval(
            "SELECT count(*) FROM messages WHERE event_type = 'workspace_deleted'"
        )
    finally:
        await conn.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "database-outage.json").write_text(json.dumps(timeline, indent=2) + "\n")

    assert {status for status, _ in refusals} == {503}, refusals
    assert all("database" in body["detail"] for _, body in refusals), refusals
    assert ready_status == 503 and "database" in ready["reason"], ready
    assert ready_after == (200, {"ready": True, "dispatching": True, "listening": True})
    # Nothing half-way: only the events that were answered 202 were stored.
    assert stored == ["after", "before"]
    assert messages == 2 and accepted["messages"][0]["status"] == "pending"
    assert [r.json()["payload"]["labels"]["name"] for r in sink.received] == ["before", "after"]
