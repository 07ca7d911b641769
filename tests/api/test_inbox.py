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


async def _member_stream_headers(running: Any) -> tuple[dict[str, Any], dict[str, Any], str]:
    user = await running.create_user("ann@example.com", username="ann")
    status, token = await running.call("POST", f"/api/v1/users/{user['id']}/tokens", json={})
    assert status == 201, token
    return user, token, running.url + "/api/v1/inbox/stream"


async def _rest_of(stream: Any) -> bytes:
    """What the stream still sends; it must end (the server closes it), not hang."""
    return await asyncio.wait_for(stream.content.read(), 5)


async def test_revoking_the_token_ends_an_open_stream_at_its_next_wake(start_server) -> None:
    # No heartbeat comes in the test's time: only the wake by a new message can end it.
    running = await start_server(method="inbox", stream_heartbeat="1h")
    user, token, url = await _member_stream_headers(running)
    headers = {"Authorization": f"Bearer {token['token']}"}
    async with running.http.get(url, headers=headers) as stream:
        assert stream.status == 200
        assert (await stream.content.readline()).startswith(b": connected")
        status, _ = await running.call("DELETE", f"/api/v1/users/{user['id']}/tokens/{token['id']}")
        assert status == 204
        event = await running.post_deleted(name="after-revoke")
        await running.wait_status(event["messages"][0]["id"], {"sent"})
        rest = await _rest_of(stream)
    assert b"notification" not in rest


async def test_suspending_the_user_ends_an_open_stream_at_its_next_heartbeat(
    start_server,
) -> None:
    running = await start_server(method="inbox", stream_heartbeat="100ms")
    user, token, url = await _member_stream_headers(running)
    headers = {"Authorization": f"Bearer {token['token']}"}
    async with running.http.get(url, headers=headers) as stream:
        assert stream.status == 200
        assert (await stream.content.readline()).startswith(b": connected")
        status, body = await running.call(
            "PATCH", f"/api/v1/users/{user['id']}", json={"status": "suspended"}
        )
        assert status == 200, body
        rest = await _rest_of(stream)
    assert b"notification" not in rest


async def test_a_stream_ends_at_its_maximum_lifetime(start_server) -> None:
    running = await start_server(method="inbox", stream_heartbeat="1h", stream_max_lifetime="300ms")
    _, token, url = await _member_stream_headers(running)
    headers = {"Authorization": f"Bearer {token['token']}"}
    async with running.http.get(url, headers=headers) as stream:
        assert stream.status == 200
        assert (await stream.content.readline()).startswith(b": connected")
        rest = await _rest_of(stream)
    assert rest.strip() == b": stream lifetime reached, reconnect with since="


async def test_a_user_holds_at_most_five_open_streams(start_server) -> None:
    running = await start_server(method="inbox", stream_heartbeat="100ms")
    _, token, url = await _member_stream_headers(running)
    headers = {"Authorization": f"Bearer {token['token']}"}
    opened = []
    for _ in range(5):
        stream = await running.http.get(url, headers=headers)
        assert stream.status == 200
        assert (await stream.content.readline()).startswith(b": connected")
        opened.append(stream)
    try:
        async with running.http.get(url, headers=headers) as sixth:
            assert sixth.status == 429
            assert int(sixth.headers["Retry-After"]) >= 1
            assert "at most 5" in (await sixth.json())["detail"]
        # Another user is not held back by Ann's streams.
        bob = await running.create_user("bob@example.com", username="bob")
        _, bobs = await running.call("POST", f"/api/v1/users/{bob['id']}/tokens", json={})
        bob_headers = {"Authorization": f"Bearer {bobs['token']}"}
        async with running.http.get(url, headers=bob_headers) as other:
            assert other.status == 200
    finally:
        for stream in opened[1:]:
            stream.close()
    opened[0].close()
    # A closed stream gives its place back.
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        async with running.http.get(url, headers=headers) as again:
            if again.status == 200:
                break
            assert asyncio.get_running_loop().time() < deadline, "no place was given back"
        await asyncio.sleep(0.05)
