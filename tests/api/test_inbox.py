"""The in-app inbox: listing, read state, and the live SSE stream."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any


async def test_inbox_stream_pushes_new_messages_within_a_second(start_server) -> None:
    running = await start_server(method="inbox")
    user = await running.create_user("ann@example.com", username="ann")
    _, token = await running.call("POST", f"/api/v1/users/{user['id']}/tokens", json={})
    headers = {"Authorization": f"Bearer {token['token']}"}

    async with running.http.get(running.url + "/api/v1/inbox/stream", headers=headers) as stream:
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert (await stream.content.readline()).startswith(b": connected")
        await stream.content.readline()
        posted = time.monotonic()
        body = await running.post_deleted()
        lines: list[str] = []
        while not lines or lines[-1] != "":
            raw = await asyncio.wait_for(stream.content.readline(), 5)
            lines.append(raw.decode().rstrip("\n"))
        arrived = time.monotonic() - posted
    assert arrived < 1.0
    fields = dict(line.split(": ", 1) for line in lines if line)
    assert fields["event"] == "notification"
    assert fields["id"] == body["messages"][0]["id"]
    item = json.loads(fields["data"])
    assert "dev" in item["title"] and item["read_at"] is None

    _, inbox = await running.call("GET", "/api/v1/inbox", token=token["token"])
    assert inbox["unread_count"] == 1 and inbox["items"][0]["id"] == item["id"]
    status, marked = await running.call(
        "POST", f"/api/v1/inbox/{item['id']}/read", token=token["token"]
    )
    assert status == 200 and marked["unread_count"] == 0
    _, inbox = await running.call("GET", "/api/v1/inbox", token=token["token"])
    assert inbox["items"][0]["read_at"] is not None


async def _next_event(stream: Any) -> dict[str, str]:
    lines: list[str] = []
    while not lines or lines[-1] != "":
        raw = await asyncio.wait_for(stream.content.readline(), 5)
        line = raw.decode().rstrip("\n")
        if not lines and line.startswith(":"):  # a comment: connected, heartbeat
            await stream.content.readline()
            continue
        lines.append(line)
    return dict(line.split(": ", 1) for line in lines if line)


async def test_a_stream_from_a_time_sends_what_arrived_since(start_server) -> None:
    running = await start_server(method="inbox")
    user = await running.create_user("ann@example.com", username="ann")
    _, token = await running.call("POST", f"/api/v1/users/{user['id']}/tokens", json={})
    headers = {"Authorization": f"Bearer {token['token']}"}
    before = datetime.now(UTC).isoformat()
    first = await running.post_deleted(name="first")
    await running.wait_status(first["messages"][0]["id"], {"sent"})
    second = await running.post_deleted(name="second")
    await running.wait_status(second["messages"][0]["id"], {"sent"})

    url = running.url + "/api/v1/inbox/stream"
    async with running.http.get(url, params={"since": before}, headers=headers) as stream:
        assert stream.status == 200
        ids = [(await _next_event(stream))["id"] for _ in range(2)]
    assert ids == [first["messages"][0]["id"], second["messages"][0]["id"]]
    async with running.http.get(url, params={"since": "2026-11-23T10:00"}, headers=headers) as r:
        assert r.status == 422 and "time zone" in (await r.json())["detail"]


async def test_a_stream_from_a_time_out_of_range_is_a_422(start_server) -> None:
    running = await start_server(dispatch=False)
    user = await running.create_user("ann@example.com")
    _, token = await running.call("POST", f"/api/v1/users/{user['id']}/tokens", json={})
    headers = {"Authorization": f"Bearer {token['token']}"}
    url = running.url + "/api/v1/inbox/stream"
    for since in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        async with running.http.get(url, params={"since": since}, headers=headers) as r:
            assert r.status == 422
            assert (await r.json())["detail"].startswith("since: out of range")
