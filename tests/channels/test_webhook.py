"""The custom webhook channel: subscriptions, signing, secrets kept secret, Test Connection."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import uuid

import sqlalchemy as sa

from clarion.store.tables import channels
from tests.fakes.sink import HttpSink, Reply

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
LABELS = {
    "project": "shop",
    "application": "api",
    "application_type": "application",
    "error_message": "exit 1 <b>boom</b>",
    "build_url": "https://ci.example.com/b/1",
}


async def _create_channel(running, sink: HttpSink, **extra) -> dict:
    body = {
        "name": "ops hook",
        "kind": "webhook",
        "config": {
            "endpoint": sink.url + "/in",
            "headers": {"Authorization": "Bearer t0ps3cret"},
            "secret": SECRET,
        },
        "events": ["deploy_failed"],
        **extra,
    }
    status, channel = await running.call("POST", "/api/v1/channels", json=body)
    assert status == 201, channel
    return dict(channel)


async def test_subscribed_channel_receives_signed_event(start_server, sink: HttpSink) -> None:
    running = await start_server()
    channel = await _create_channel(running, sink)
    assert channel["config"]["secret"] == {"set": True}
    assert channel["config"]["headers"] == {"set": True}
    assert "t0ps3cret" not in str(channel) and SECRET not in str(channel)

    status, event = await running.call(
        "POST", "/api/v1/events", json={"type": "deploy_failed", "labels": LABELS}
    )
    assert status == 202, event
    [queued] = event["messages"]
    assert queued["method"] == "channel:webhook" and queued["recipient"] == "ops hook"
    [request] = await sink.wait_for(1)
    await running.wait_status(queued["id"], {"sent"})
    assert request.headers["Authorization"] == "Bearer t0ps3cret"
    assert request.headers["webhook-id"] == queued["id"]
    signed = f"{queued['id']}.{request.headers['webhook-timestamp']}.".encode() + request.body
    expected = base64.b64encode(hmac.new(b"k" * 32, signed, hashlib.sha256).digest()).decode()
    assert request.headers["webhook-signature"] == f"v1,{expected}"
    body = request.json()
    assert body["type"] == "deploy_failed"
    assert body["data"]["labels"] == LABELS and "exit 1" in body["data"]["message"]

    # Not subscribed: nothing for the channel.
    _, other = await running.call(
        "POST",
        "/api/v1/events",
        json={
            "type": "deploy_succeeded",
            "labels": {k: v for k, v in LABELS.items() if k != "error_message"},
        },
    )
    assert [m for m in other["messages"] if m["method"].startswith("channel:")] == []

    # Secrets are sealed in the database and never come back from the API.
    async with running.service.db.engine.connect() as conn:
        row = (await conn.execute(sa.select(channels))).one()
    assert "t0ps3cret" not in str(row.config) and "t0ps3cret" not in (row.secrets or "")
    for path in ("/api/v1/channels", f"/api/v1/channels/{channel['id']}"):
        _, shown = await running.call("GET", path)
        assert "t0ps3cret" not in str(shown) and SECRET not in str(shown)


async def test_update_keeps_secrets_left_out_and_disable_stops_routing(start_server, sink) -> None:
    running = await start_server()
    channel = await _create_channel(running, sink)
    path = f"/api/v1/channels/{channel['id']}"
    # Another endpoint: the stored header and signing secret do not follow it.
    status, refused = await running.call(
        "PATCH", path, json={"config": {"endpoint": sink.url + "/moved"}}
    )
    assert status == 422 and "config.headers" in refused["detail"]
    assert "config.secret" in refused["detail"] and "t0ps3cret" not in str(refused)
    status, updated = await running.call(
        "PATCH",
        path,
        json={
            "config": {"endpoint": sink.url + "/in"},
            "events": ["deploy_failed", "deploy_succeeded"],
        },
    )
    assert status == 200, updated
    assert updated["config"]["secret"] == {"set": True}
    assert updated["config"]["headers"] == {"set": True}
    status, result = await running.call("POST", f"{path}/test")
    assert (status, result["ok"]) == (200, True)
    [request] = await sink.wait_for(1)
    assert request.path == "/in" and request.headers["Authorization"] == "Bearer t0ps3cret"

    await running.call("PATCH", f"/api/v1/channels/{channel['id']}", json={"enabled": False})
    _, event = await running.call(
        "POST", "/api/v1/events", json={"type": "deploy_failed", "labels": LABELS}
    )
    assert event["messages"] == []


async def test_connection_test_reports_provider_errors_and_bad_config(start_server, sink) -> None:
    sink.responder = lambda n, r: Reply(401, '{"error": "invalid token"}')
    running = await start_server(dispatch=False)
    status, result = await running.call(
        "POST", "/api/v1/channels/test", json={"kind": "webhook", "config": {"endpoint": sink.url}}
    )
    assert status == 200 and result["ok"] is False
    assert "401" in result["detail"] and "invalid token" in result["detail"]

    status, result = await running.call(
        "POST", "/api/v1/channels/test", json={"kind": "webhook", "config": {"endpoint": "ftp://x"}}
    )
    assert status == 422 and "config.endpoint" in result["detail"]
    status, result = await running.call(
        "POST", "/api/v1/channels/test", json={"kind": "pigeon", "config": {}}
    )
    assert status == 422 and "pigeon" in result["detail"]
    status, kinds = await running.call("GET", "/api/v1/channels/kinds")
    webhook = next(k for k in kinds["items"] if k["kind"] == "webhook")
    assert webhook["config_schema"]["properties"]["secret"]["writeOnly"] is True
    status, result = await running.call(
        "POST",
        "/api/v1/channels",
        json={"name": "x", "kind": "webhook", "config": {"endpoint": sink.url}, "events": ["nope"]},
    )
    assert status == 422 and "nope" in result["detail"]


async def test_410_gone_fails_and_disables_the_channel(start_server, sink: HttpSink) -> None:
    running = await start_server()
    channel = await _create_channel(running, sink)
    sink.responder = lambda n, r: Reply(410, "this hook was deleted")
    status, event = await running.call(
        "POST", "/api/v1/events", json={"type": "deploy_failed", "labels": LABELS}
    )
    assert status == 202, event
    failed = await running.wait_status(event["messages"][0]["id"], {"permanent_failure"})
    assert "410" in failed["status_reason"] and failed["attempt_count"] == 1
    for _ in range(100):
        status, now = await running.call("GET", f"/api/v1/channels/{channel['id']}")
        if not now["enabled"]:
            break
        await asyncio.sleep(0.05)
    assert now["enabled"] is False and "410" in now["disabled_reason"]

    status, event = await running.call(
        "POST",
        "/api/v1/events",
        json={"type": "deploy_failed", "labels": {**LABELS, "project": "b"}},
    )
    assert status == 202 and event["messages"] == []  # a disabled channel is not routed to
    status, again = await running.call(
        "PATCH", f"/api/v1/channels/{channel['id']}", json={"enabled": True}
    )
    assert status == 200 and again["enabled"] and again["disabled_reason"] is None


async def test_unreadable_secrets_hold_back_only_that_channel(start_server, sink: HttpSink) -> None:
    running = await start_server()
    good = await _create_channel(running, sink)
    bad = await _create_channel(running, sink, name="sealed with a lost key")
    async with running.service.db.begin() as conn:  # as if sealed with a key we no longer have
        sealed = channels.update().where(channels.c.id == uuid.UUID(bad["id"]))
        await conn.execute(sealed.values(secrets="gAAAAAB-not-ours"))

    status, event = await running.call(
        "POST", "/api/v1/events", json={"type": "deploy_failed", "labels": LABELS}
    )
    assert status == 202, event
    queued = {m["recipient"]: m["id"] for m in event["messages"]}
    await running.wait_status(queued[good["name"]], {"sent"})
    held = await running.wait_status(queued[bad["name"]], {"temporary_failure"})
    assert "secrets cannot be read" in held["status_reason"]
    assert len(sink.received) == 1


async def test_line_breaks_in_header_values_are_refused_naming_the_header(start_server) -> None:
    """aiohttp refuses to send them: a 500 at test, a traceback at every send."""
    running = await start_server(dispatch=False)
    for headers in (
        {"Authorization": "Bearer t0ps3cret\r\nX-Injected: 1"},
        {"Authorization": "Bearer t0ps3cret\n"},
        {"Authorization": "Bearer\x00t0ps3cret"},
        {"X-Bad Name": "v"},
    ):
        config = {"endpoint": "https://hooks.example.com/in", "headers": headers}
        for path, body in (
            ("/api/v1/channels/test", {"kind": "webhook", "config": config}),
            ("/api/v1/channels", {"name": "h", "kind": "webhook", "config": config}),
        ):
            status, answer = await running.call("POST", path, json=body)
            assert status == 422, (path, headers, answer)
            assert "config.headers" in answer["detail"], answer
            assert "t0ps3cret" not in str(answer)
    status, listing = await running.call("GET", "/api/v1/channels")
    assert status == 200 and listing["items"] == []
