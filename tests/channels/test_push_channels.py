"""Mattermost, Gotify and ntfy against local fakes: success, retry, permanent failure."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.fakes.push import FakeGotify, FakeMattermost, FakeNtfy
from tests.fakes.sink import Reply

LABELS = {
    "server_name": "web-1",
    "metric": "cpu",
    "value": "93.50",
    "threshold": "80.00",
    "message": "CPU @channel usage **high** <b>x</b>",
}


def mattermost(fake: Any, good: bool) -> dict[str, Any]:
    key = fake.KEY if good else "wrong"
    return {"webhook_url": f"{fake.url}/hooks/{key}", "channel": "#ops"}


def gotify(fake: Any, good: bool) -> dict[str, Any]:
    return {"server_url": fake.url, "app_token": fake.TOKEN if good else "nope", "priority": 8}


def ntfy(fake: Any, good: bool) -> dict[str, Any]:
    return {
        "server_url": fake.url,
        "topic": fake.PROTECTED,
        "access_token": fake.TOKEN if good else "tk_wrong",
        "priority": 4,
    }


CASES = [
    ("mattermost", FakeMattermost, mattermost, "Invalid webhook"),
    ("gotify", FakeGotify, gotify, "Unauthorized"),
    ("ntfy", FakeNtfy, ntfy, "forbidden"),
]


@pytest.fixture(params=CASES, ids=[c[0] for c in CASES])
async def case(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[str, Any, Callable[..., Any], str]]:
    kind, fake_class, config, error = request.param
    fake = fake_class()
    await fake.start()
    yield kind, fake, config, error
    await fake.stop()


async def _send(running, fake, kind: str, config: dict[str, Any]) -> str:
    status, channel = await running.call(
        "POST",
        "/api/v1/channels",
        json={
            "name": kind,
            "kind": kind,
            "config": config,
            "events": ["server_threshold_exceeded"],
        },
    )
    assert status == 201, channel
    status, event = await running.call(
        "POST", "/api/v1/events", json={"type": "server_threshold_exceeded", "labels": LABELS}
    )
    assert status == 202, event
    return str(event["messages"][0]["id"])


async def test_delivers_and_formats(start_server, case) -> None:
    kind, fake, config, _ = case
    running = await start_server()
    message = await running.wait_status(
        await _send(running, fake, kind, config(fake, True)), {"sent"}
    )
    [request] = fake.received
    body = request.json()
    assert message["attempt_count"] == 1
    if kind == "mattermost":
        assert body["channel"] == "ops" and body["text"].startswith("#### ")
        assert "@\u200bchannel" in body["text"] and "\\*\\*high\\*\\*" in body["text"]
    elif kind == "gotify":
        assert body["priority"] == 8 and "web-1" in body["title"]
        assert body["extras"]["client::display"]["contentType"] == "text/markdown"
        assert "\\<b\\>x\\</b\\>" in body["message"]
    else:
        assert body["topic"] == fake.PROTECTED and body["priority"] == 4
        assert "CPU @channel usage **high** <b>x</b>" in body["message"]  # plain text, verbatim


async def test_retries_then_delivers(start_server, case) -> None:
    kind, fake, config, _ = case
    fake.failing = [
        Reply(503, "upstream unavailable"),
        Reply(429, "slow down", {"Retry-After": "1"}),
    ]
    running = await start_server(retry_interval="100ms")
    message = await running.wait_status(
        await _send(running, fake, kind, config(fake, True)), {"sent"}, timeout=15
    )
    assert [a["outcome"] for a in message["attempts"]] == ["retry", "retry", "delivered"]
    assert "503" in message["attempts"][0]["detail"] and "429" in message["attempts"][1]["detail"]


async def test_bad_credentials_fail_permanently_and_connection_test_says_why(
    start_server, case
) -> None:
    kind, fake, config, error = case
    running = await start_server()
    message = await running.wait_status(
        await _send(running, fake, kind, config(fake, False)), {"permanent_failure"}
    )
    assert error in message["status_reason"] and message["attempt_count"] == 1
    status, result = await running.call(
        "POST", "/api/v1/channels/test", json={"kind": kind, "config": config(fake, False)}
    )
    assert status == 200 and result["ok"] is False and error in result["detail"]
    status, result = await running.call(
        "POST", "/api/v1/channels/test", json={"kind": kind, "config": config(fake, True)}
    )
    assert (status, result["ok"]) == (200, True)
