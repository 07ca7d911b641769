"""Resend, as a channel kind and as the ``resend`` user method, against a local Resend fake."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from clarion.channels.resend import ResendSender
from clarion.delivery.http import HttpClient
from clarion.delivery.mail import Composer
from clarion.delivery.outcome import Delivered, Outbound, Recipient, Retry
from clarion.render import Rendered
from clarion.render.email import Brand
from tests.fakes.mail import FakeResend
from tests.fakes.sink import Reply


@pytest.fixture
async def resend() -> AsyncIterator[FakeResend]:
    fake = FakeResend()
    await fake.start()
    yield fake
    await fake.stop()


def config(resend: FakeResend, **extra: Any) -> dict[str, Any]:
    return {
        "api_key": resend.API_KEY,
        "from_address": "Clarion <alerts@example.com>",
        "to_addresses": ["ops@example.com", "dev@example.com"],
        "api_url": resend.url,
        **extra,
    }


async def _event(running, n: int) -> str:
    labels = {
        "server_name": f"web-{n}",
        "metric": "cpu",
        "value": "93.5",
        "threshold": "80",
        "message": "CPU <b>high</b>",
    }
    status, event = await running.call(
        "POST", "/api/v1/events", json={"type": "server_threshold_exceeded", "labels": labels}
    )
    assert status == 202, event
    return str(event["messages"][0]["id"])


async def _channel(running, cfg: dict[str, Any]) -> dict[str, Any]:
    status, channel = await running.call(
        "POST",
        "/api/v1/channels",
        json={
            "name": "ops mail",
            "kind": "resend",
            "config": cfg,
            "events": ["server_threshold_exceeded"],
        },
    )
    assert status == 201, channel
    return dict(channel)


@pytest.mark.slow
async def test_channel_sends_the_api_request_paced_to_two_a_second(start_server, resend) -> None:
    running = await start_server()
    channel = await _channel(running, config(resend))
    assert channel["config"]["api_key"] == {"set": True} and resend.API_KEY not in str(channel)
    ids = [await _event(running, n) for n in range(5)]
    for message_id in ids:
        await running.wait_status(message_id, {"sent"}, timeout=15)
    assert resend.rate_limited == 0  # paced: never refused for going too fast
    times = [r.at for r in resend.received]
    assert all(b - a >= 0.45 for a, b in itertools.pairwise(times))
    request = resend.received[0]
    assert request.path == "/emails"
    assert request.headers["Authorization"] == f"Bearer {resend.API_KEY}"
    assert request.headers["Idempotency-Key"] in ids
    email = request.json()
    assert email["from"] == "Clarion <alerts@example.com>"
    assert email["to"] == ["ops@example.com", "dev@example.com"]
    assert "web-" in email["subject"]
    assert "&lt;b&gt;high&lt;/b&gt;" in email["html"] and "<b>high</b>" not in email["html"]
    assert "CPU <b>high</b>" in email["text"]
    assert "headers" not in email  # a team list has no personal unsubscribe link


async def test_errors_are_classified_with_resends_message(start_server, resend) -> None:
    running = await start_server(retry_interval="100ms")
    await _channel(running, config(resend, from_address="alerts@unverified.test"))
    failed = await running.wait_status(await _event(running, 1), {"permanent_failure"})
    assert "403" in failed["status_reason"] and "not verified" in failed["status_reason"]

    resend.failing = [Reply(500, '{"statusCode":500,"name":"application_error","message":"oops"}')]
    status, connection = await running.call(
        "POST",
        "/api/v1/channels/test",
        json={"kind": "resend", "config": config(resend, api_key="re_revoked")},
    )
    assert status == 200 and connection["ok"] is False and "invalid_api_key" in connection["detail"]


@pytest.mark.slow
async def test_a_retry_reuses_the_idempotency_key(resend) -> None:
    http = HttpClient(timeout=5, allow_private=True)
    sender = ResendSender(
        http,
        Composer(Brand(), lambda _: "http://clarion.test/settings"),
        api_key=resend.API_KEY,
        sender="alerts@example.com",
        to=["ops@example.com"],
        api_url=resend.url,
    )
    message = Outbound(
        message_id="5f0c6f1e-0000-4000-8000-000000000001",
        event_type="test_notification",
        template_id="",
        template_name="Test",
        recipient=Recipient(),
        content=Rendered("Hi", "Hi", "Hi", "Hi", "<p>Hi</p>"),
    )
    try:
        resend.failing = [Reply(503, '{"statusCode":503,"name":"internal_server_error"}')]
        assert isinstance(await sender.send(message), Retry)
        await asyncio.sleep(1.0)  # Resend's 2/s window
        first = await sender.send(message)
        await asyncio.sleep(1.0)
        again = await sender.send(message)  # an answer lost in transit, sent again
    finally:
        await http.close()
    assert isinstance(first, Delivered) and isinstance(again, Delivered)
    assert len(resend.accepted) == 1  # one email, however many requests
    keys = {r.headers["Idempotency-Key"] for r in resend.received}
    assert keys == {message.message_id}


async def test_resend_method_mails_the_user_with_unsubscribe_headers(start_server, resend) -> None:
    running = await start_server(
        method="resend",
        email_from="Clarion <alerts@example.com>",
        resend_api_key=resend.API_KEY,
        resend_api_url=resend.url,
    )
    await running.create_user("ann@example.com", name="Ann")
    [queued] = (await running.post_deleted("ann@example.com"))["messages"]
    assert queued["method"] == "resend"
    await running.wait_status(queued["id"], {"sent"})
    [email] = resend.accepted
    assert email["to"] == ["ann@example.com"]
    headers = email["headers"]
    assert headers["List-Unsubscribe"].startswith(f"<{running.url}/unsubscribe/")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert ">View workspaces</a>" in email["html"]
