"""Channels over the API: stored secrets stay with their destination."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.sink import HttpSink

TOKEN = "AgotifyTokenXYZ"


@pytest.fixture
async def elsewhere() -> AsyncIterator[HttpSink]:
    """A second receiver: where a user-admin would point a channel to collect its token."""
    receiver = await HttpSink().start()
    yield receiver
    await receiver.stop()


async def _gotify(running: Any, server_url: str) -> dict[str, Any]:
    body = {
        "name": "phones",
        "kind": "gotify",
        "config": {"server_url": server_url, "app_token": TOKEN, "priority": 5},
        "events": [],
    }
    status, channel = await running.call("POST", "/api/v1/channels", json=body)
    assert status == 201, channel
    return dict(channel)


async def test_moving_a_channel_needs_its_secrets_again(
    start_server, sink: HttpSink, elsewhere: HttpSink
) -> None:
    running = await start_server(dispatch=False)
    channel = await _gotify(running, sink.url)
    path = f"/api/v1/channels/{channel['id']}"

    # Not where it goes: the stored token is kept.
    status, kept = await running.call(
        "PATCH", path, json={"config": {"server_url": sink.url, "priority": 8}}
    )
    assert status == 200 and kept["config"]["app_token"] == {"set": True}

    # Elsewhere without the token: refused, naming it, and nothing changed.
    status, refused = await running.call(
        "PATCH", path, json={"config": {"server_url": elsewhere.url}}
    )
    assert status == 422, refused
    assert "config.app_token" in refused["detail"] and "config.server_url" in refused["detail"]
    assert TOKEN not in str(refused)
    _, found = await running.call("GET", path)
    assert found["config"]["server_url"] == sink.url and found["config"]["priority"] == 8

    # Test Connection of the saved channel goes to the saved server only.
    status, tested = await running.call("POST", f"{path}/test", json={"server_url": elsewhere.url})
    assert (status, tested["ok"]) == (200, True)
    assert [r.headers["X-Gotify-Key"] for r in sink.received] == [TOKEN]
    assert elsewhere.received == []

    # Elsewhere with a token given again: saved, and that token is what goes there.
    status, moved = await running.call(
        "PATCH", path, json={"config": {"server_url": elsewhere.url, "app_token": "AnewToken"}}
    )
    assert status == 200, moved
    status, tested = await running.call("POST", f"{path}/test")
    assert (status, tested["ok"]) == (200, True)
    assert [r.headers["X-Gotify-Key"] for r in elsewhere.received] == ["AnewToken"]
    assert len(sink.received) == 1


async def test_kinds_list_their_destination_fields(start_server) -> None:
    running = await start_server(dispatch=False)
    status, listed = await running.call("GET", "/api/v1/channels/kinds")
    assert status == 200
    by_kind = {k["kind"]: k for k in listed["items"]}
    assert by_kind["gotify"]["destination_fields"] == ["server_url"]
    assert by_kind["email"]["destination_fields"] == [
        "security",
        "skip_verify",
        "smtp_port",
        "smtp_server",
    ]
    schema = by_kind["gotify"]["config_schema"]["properties"]
    assert schema["server_url"]["x-destination"] is True


def undocumented_answers(schema: dict[str, Any], prefix: str) -> list[str]:
    """The operations under ``prefix`` whose 2xx answer (one with a body) has no schema."""
    missing = []
    for path, operations in schema["paths"].items():
        if not path.startswith(prefix):
            continue
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status.startswith("2") and status != "204":
                    body = answer.get("content", {}).get("application/json", {})
                    if not body.get("schema", {}).get("$ref"):
                        missing.append(f"{method.upper()} {path} {status}")
    return missing


async def test_every_channel_answer_is_documented(start_server) -> None:
    running = await start_server(dispatch=False)
    status, schema = await running.call("GET", "/openapi.json")
    assert status == 200
    assert undocumented_answers(schema, "/api/v1/channels") == []
    view = schema["components"]["schemas"]["ChannelView"]
    assert "disabled_reason" in view["properties"]
