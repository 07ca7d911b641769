"""End to end through the API: an event becomes a webhook delivery, with the retry rules."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.fakes.sink import HttpSink, Reply


async def _post_deleted(running) -> dict:
    return await running.post_deleted(reason="idle for 30 days", initiator="autobuild")


async def test_event_reaches_webhook_with_coder_payload(start_server, sink: HttpSink) -> None:
    running = await start_server(webhook_endpoint=sink.url + "/hook")
    user = await running.create_user("ann@example.com", name="Ann", username="ann")
    event = await _post_deleted(running)
    [queued] = event["messages"]
    assert queued["method"] == "webhook" and queued["recipient"] == "ann@example.com"

    [request] = await sink.wait_for(1)
    message = await running.wait_status(queued["id"], {"sent"})
    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Message-Id"] == queued["id"]
    body = request.json()
    assert set(body) == {
        "_version",
        "msg_id",
        "payload",
        "title",
        "title_markdown",
        "body",
        "body_markdown",
    }
    assert body["_version"] == "1.1" and body["msg_id"] == queued["id"]
    payload = body["payload"]
    assert payload["_version"] == "1.2"
    assert payload["notification_name"] == "Workspace Deleted"
    assert payload["notification_template_id"] == "f517da0b-cdc9-410f-ab89-a86107c420ed"
    assert payload["user_id"] == user["id"]
    assert (payload["user_email"], payload["user_name"], payload["user_username"]) == (
        "ann@example.com",
        "Ann",
        "ann",
    )
    assert payload["labels"] == {
        "name": "dev",
        "reason": "idle for 30 days",
        "initiator": "autobuild",
    }
    assert payload["data"] is None and payload["targets"] is None
    assert all(set(a) == {"label", "url"} for a in payload["actions"])
    assert "dev" in body["title"] and "dev" in body["body"]
    assert "**" not in body["body"]  # plain text, not Markdown
    assert message["attempt_count"] == 1 and message["status_reason"] is None
    assert [a["outcome"] for a in message["attempts"]] == ["delivered"]


async def test_server_error_is_retried_until_max_attempts(start_server, sink: HttpSink) -> None:
    sink.responder = lambda n, r: Reply(500, "upstream exploded")
    running = await start_server(
        webhook_endpoint=sink.url, max_send_attempts=3, retry_interval="300ms"
    )
    await running.create_user("ann@example.com")
    [queued] = (await _post_deleted(running))["messages"]
    message = await running.wait_status(queued["id"], {"permanent_failure"})
    assert len(sink.received) == 3
    assert message["attempt_count"] == 3
    assert "500" in message["status_reason"] and "upstream exploded" in message["status_reason"]
    assert [a["outcome"] for a in message["attempts"]] == ["retry", "retry", "retry"]
    gaps = [b.at - a.at for a, b in zip(sink.received, sink.received[1:], strict=False)]
    # A quarter of the retry interval, then doubled, each ±25%.
    assert gaps[0] >= 0.056 and gaps[1] >= 0.112


async def test_client_error_fails_permanently_at_once(start_server, sink: HttpSink) -> None:
    sink.responder = lambda n, r: Reply(400, '{"error": "bad payload"}')
    running = await start_server(webhook_endpoint=sink.url)
    await running.create_user("ann@example.com")
    [queued] = (await _post_deleted(running))["messages"]
    message = await running.wait_status(queued["id"], {"permanent_failure"})
    assert message["attempt_count"] == 1 and len(sink.received) == 1
    assert "HTTP 400" in message["status_reason"] and "bad payload" in message["status_reason"]


async def test_a_nul_in_the_answer_does_not_stop_outcomes_being_recorded(
    start_server, sink: HttpSink
) -> None:
    """PostgreSQL text cannot hold NUL: quoted as it is, it failed every completion batch."""
    sink.responder = lambda n, r: Reply(400, "bad\x00payload") if n == 1 else Reply()
    running = await start_server(webhook_endpoint=sink.url)
    await running.create_user("ann@example.com")
    [first] = (await _post_deleted(running))["messages"]
    failed = await running.wait_status(first["id"], {"permanent_failure"})
    assert "bad\ufffdpayload" in failed["status_reason"]
    [second] = (await running.post_deleted(name="ws2"))["messages"]
    await running.wait_status(second["id"], {"sent"})


async def test_a_retry_waits_for_its_own_time_not_the_lease(start_server, sink: HttpSink) -> None:
    """The claim loop slept until the claimed message's lease ended (the queue's earliest
    due row when it claimed), so on a quiet system a retry waited the whole lease."""
    sink.responder = lambda n, r: Reply(500, "busy") if n == 1 else Reply()
    running = await start_server(
        webhook_endpoint=sink.url,
        lease_period="20s",
        dispatch_timeout="5s",
        fetch_interval="60s",
        retry_interval="200ms",
    )
    await running.create_user("ann@example.com")
    [queued] = (await _post_deleted(running))["messages"]
    message = await running.wait_status(queued["id"], {"sent"}, timeout=8)
    first, second = sink.received
    assert second.at - first.at < 5  # the lease would have made it 20
    assert [a["outcome"] for a in message["attempts"]] == ["retry", "delivered"]


@pytest.mark.slow
async def test_retry_after_is_honoured(start_server, sink: HttpSink) -> None:
    sink.responder = lambda n, r: (
        Reply(429, "slow down", {"Retry-After": "2"}) if n == 1 else Reply()
    )
    running = await start_server(webhook_endpoint=sink.url, retry_interval="100ms")
    await running.create_user("ann@example.com")
    [queued] = (await _post_deleted(running))["messages"]
    message = await running.wait_status(queued["id"], {"sent"}, timeout=15)
    first, second = sink.received
    assert second.at - first.at >= 2.0
    assert message["attempt_count"] == 2
    assert (
        message["attempts"][0]["outcome"] == "retry" and "429" in message["attempts"][0]["detail"]
    )


async def test_paused_keeps_messages_pending_until_resumed(start_server, sink: HttpSink) -> None:
    running = await start_server(webhook_endpoint=sink.url)
    await running.create_user("ann@example.com")
    status, body = await running.call(
        "PUT", "/api/v1/notifications/settings", json={"paused": True}
    )
    assert (status, body) == (200, {"paused": True})
    ids = [(await _post_deleted(running))["messages"][0]["id"]]
    ids += [(await running.post_deleted(name=f"ws{i}"))["messages"][0]["id"] for i in range(3)]
    started = time.monotonic()
    while time.monotonic() - started < 1.5:
        for message_id in ids:
            _, message = await running.call("GET", f"/api/v1/messages/{message_id}")
            assert message["status"] == "pending"
        await __import__("asyncio").sleep(0.2)
    assert sink.received == []
    _, settings = await running.call("GET", "/api/v1/notifications/settings")
    assert settings == {"paused": True}

    await running.call("PUT", "/api/v1/notifications/settings", json={"paused": False})
    for message_id in ids:
        await running.wait_status(message_id, {"sent"}, timeout=5)
    assert len(sink.received) == 4


@pytest.mark.slow
async def test_pausing_mid_backlog_stops_sending_and_hands_back_what_was_claimed(
    start_server, sink: HttpSink
) -> None:
    sink.delay = 0.3
    running = await start_server(
        webhook_endpoint=sink.url, dispatch_concurrency=2, dispatch_batch_size=20
    )
    await running.create_user("ann@example.com")
    await running.call("PUT", "/api/v1/notifications/settings", json={"paused": True})
    ids = [(await running.post_deleted(name=f"ws{i}"))["messages"][0]["id"] for i in range(30)]
    await running.call("PUT", "/api/v1/notifications/settings", json={"paused": False})
    await sink.wait_for(2)  # two sends in flight, up to 18 more claimed and waiting

    await running.call("PUT", "/api/v1/notifications/settings", json={"paused": True})
    await __import__("asyncio").sleep(1.5)
    sent_while_pausing = len(sink.received)
    assert sent_while_pausing <= 4  # what was in flight, not the claimed backlog
    statuses = []
    for message_id in ids:
        _, message = await running.call("GET", f"/api/v1/messages/{message_id}")
        statuses.append((message["status"], message["attempt_count"]))
    assert statuses.count(("sent", 1)) == sent_while_pausing
    assert statuses.count(("pending", 0)) == 30 - sent_while_pausing  # handed back, uncounted

    sink.delay = 0.0
    await running.call("PUT", "/api/v1/notifications/settings", json={"paused": False})
    for message_id in ids:
        await running.wait_status(message_id, {"sent"}, timeout=10)
    assert sorted(r.headers["X-Message-Id"] for r in sink.received) == sorted(ids)


async def test_unreachable_endpoint_is_a_temporary_failure(start_server) -> None:
    from tests.conftest import free_port

    running = await start_server(
        webhook_endpoint=f"http://127.0.0.1:{free_port()}/nothing-listens", retry_interval="1h"
    )
    await running.create_user("ann@example.com")
    [queued] = (await _post_deleted(running))["messages"]
    message = await running.wait_status(queued["id"], {"temporary_failure"})
    assert "could not connect" in message["status_reason"]
    assert message["next_retry_after"] is not None


async def test_private_destination_refused_unless_allowed(start_server, sink: HttpSink) -> None:
    running = await start_server(webhook_endpoint=sink.url, allow_private_destinations=False)
    await running.create_user("ann@example.com")
    [queued] = (await _post_deleted(running))["messages"]
    message = await running.wait_status(queued["id"], {"permanent_failure"})
    assert "CLARION_ALLOW_PRIVATE_DESTINATIONS" in message["status_reason"]
    assert sink.received == []


async def test_message_log_filters_and_pages(start_server, sink: HttpSink) -> None:
    running = await start_server(webhook_endpoint=sink.url)
    await running.create_user("ann@example.com")
    for i in range(5):
        await running.post_deleted(name=f"ws{i}")
    await sink.wait_for(5)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", "event_type": "workspace_deleted"}
        if cursor:
            params["cursor"] = cursor
        status, page = await running.call("GET", "/api/v1/messages", params=params)
        assert status == 200, page
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5
    _, everything = await running.call("GET", "/api/v1/messages", params={"limit": "50"})
    created = [m["created_at"] for m in everything["items"]]
    assert created == sorted(created, reverse=True)
    status, body = await running.call("GET", "/api/v1/messages", params={"status": "bogus"})
    assert status == 422 and "status" in body["detail"]
    status, _ = await running.call("GET", f"/api/v1/messages/{uuid.uuid4()}")
    assert status == 404
