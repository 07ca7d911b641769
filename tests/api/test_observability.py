"""Observability: /metrics by method and channel kind, queue gauges, the stats endpoint,
delivery log lines, JSON logs, /healthz and /readyz."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from clarion import metrics
from clarion.logging import configure_logging
from clarion.store.stats import queue_counter
from clarion.store.tables import messages
from tests.fakes.sink import HttpSink, Received, Reply

DEPLOY_LABELS = {
    "project": "shop",
    "application_type": "application",
    "error_message": "exit 1",
    "build_url": "https://ci.example.com/b/1",
}
WEBHOOK = {"method": "webhook", "channel_kind": ""}
CHANNEL = {"method": "channel", "channel_kind": "webhook"}
WEBHOOK_TYPE = {**WEBHOOK, "event_type": "workspace_deleted"}
CHANNEL_TYPE = {**CHANNEL, "event_type": "deploy_failed"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(running) -> tuple[str, Samples]:
    async with running.http.get(running.url + "/metrics") as response:
        assert response.status == 200
        text = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def counted(name: str, **labels: str) -> float:
    """A metric's current value in this process (metrics outlive each test's server)."""
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def reply_by_path(n: int, received: Received) -> Reply:
    return Reply(500, "down") if received.path == "/channel" else Reply(200)


async def add_channel(running, sink: HttpSink, name: str = "ops hook") -> dict:
    body = {
        "name": name,
        "kind": "webhook",
        "config": {"endpoint": sink.url + "/channel"},
        "events": ["deploy_failed"],
    }
    status, channel = await running.call("POST", "/api/v1/channels", json=body)
    assert status == 201, channel
    return dict(channel)


async def post_deploy_failed(running, application: str) -> dict:
    body = {"type": "deploy_failed", "labels": {**DEPLOY_LABELS, "application": application}}
    status, event = await running.call("POST", "/api/v1/events", json=body)
    assert status == 202, event
    [message] = event["messages"]
    assert message["method"] == "channel:webhook"
    return dict(message)


async def test_metrics_and_stats_count_by_method_and_channel_kind(
    start_server, sink: HttpSink
) -> None:
    running = await start_server(webhook_endpoint=sink.url + "/hook", max_send_attempts=2)
    sink.responder = reply_by_path
    before = {
        "sent": counted("clarion_deliveries_total", **WEBHOOK_TYPE, result="sent"),
        "retried": counted("clarion_deliveries_total", **CHANNEL_TYPE, result="retried"),
        "failed": counted("clarion_deliveries_total", **CHANNEL_TYPE, result="failed"),
        "channel_sent": counted("clarion_deliveries_total", **CHANNEL_TYPE, result="sent"),
        "dispatch_webhook": counted("clarion_dispatch_duration_seconds_count", **WEBHOOK),
        "dispatch_channel": counted("clarion_dispatch_duration_seconds_count", **CHANNEL),
        "latency_webhook": counted("clarion_delivery_latency_seconds_count", **WEBHOOK),
        "queued_webhook": counted("clarion_queued_seconds_count", **WEBHOOK),
    }
    channel = await add_channel(running, sink)
    user_messages = []
    for name in ("ann", "bob", "cat"):
        await running.create_user(f"{name}@example.com")
        event = await running.post_deleted(f"{name}@example.com")
        user_messages += [m["id"] for m in event["messages"]]
    channel_messages = [(await post_deploy_failed(running, app))["id"] for app in ("api", "web")]
    for message_id in user_messages:
        await running.wait_status(message_id, {"sent"})
    for message_id in channel_messages:
        failed = await running.wait_status(message_id, {"permanent_failure"})
        assert [a["outcome"] for a in failed["attempts"]] == ["retry", "retry"]

    text, samples = await scrape(running)
    deliveries = "clarion_deliveries_total"
    assert value(samples, deliveries, **WEBHOOK_TYPE, result="sent") - before["sent"] == 3
    assert value(samples, deliveries, **CHANNEL_TYPE, result="retried") - before["retried"] == 2
    assert value(samples, deliveries, **CHANNEL_TYPE, result="failed") - before["failed"] == 2
    assert value(samples, deliveries, **CHANNEL_TYPE, result="sent") == before["channel_sent"]
    dispatch = "clarion_dispatch_duration_seconds_count"
    assert value(samples, dispatch, **WEBHOOK) - before["dispatch_webhook"] == 3
    assert value(samples, dispatch, **CHANNEL) - before["dispatch_channel"] == 4
    latency = "clarion_delivery_latency_seconds_count"
    assert value(samples, latency, **WEBHOOK) - before["latency_webhook"] == 3
    # Coder's queued-seconds and in-flight measures: each first send once; none under way.
    queued = "clarion_queued_seconds_count"
    assert value(samples, queued, **WEBHOOK) - before["queued_webhook"] == 3
    assert value(samples, "clarion_inflight_dispatches", **WEBHOOK) == 0
    assert ("clarion_inflight_dispatches", frozenset(CHANNEL.items())) in samples
    # Bounded labels: never the channel's id, name or the raw method.
    assert channel["id"] not in text and "ops hook" not in text and "channel:" not in text
    # The queue, for this server's database.
    assert value(samples, "clarion_messages", status="sent") == 3
    assert value(samples, "clarion_messages", status="permanent_failure") == 2
    for status in ("pending", "leased", "temporary_failure", "inhibited"):
        assert value(samples, "clarion_messages", status=status) == 0, status
    assert value(samples, "clarion_oldest_pending_message_age_seconds") == 0
    assert value(samples, "clarion_paused") == 0

    status, stats = await running.call("GET", "/api/v1/messages/stats")
    assert status == 200, stats
    assert stats["paused"] is False and stats["dispatching"] is True
    assert stats["oldest_pending_age_seconds"] is None
    assert stats["by_status"] == {
        "pending": 0,
        "leased": 0,
        "sent": 3,
        "temporary_failure": 0,
        "permanent_failure": 2,
        "inhibited": 0,
    }
    assert set(stats["by_method"]) == {"webhook", "channel:webhook"}
    webhook, channel_row = stats["by_method"]["webhook"], stats["by_method"]["channel:webhook"]
    assert (webhook["messages"], webhook["sent"], webhook["retried"]) == (3, 3, 0)
    assert webhook["permanent_failure"] == 0
    assert (channel_row["messages"], channel_row["permanent_failure"]) == (2, 2)
    assert (channel_row["sent"], channel_row["retried"]) == (0, 2)
    assert stats["window"] == {
        "messages": 5,
        "sent": 3,
        "failed": 2,
        "retried": 2,
        "unfinished": 0,
        "inhibited": 0,
    }
    assert stats["window_seconds"] == 86400

    # A window that ends before these messages were created counts none of them.
    async with running.service.db.begin() as conn:
        await conn.execute(
            messages.update().values(created_at=datetime.now(UTC) - timedelta(hours=2))
        )
    status, recent = await running.call("GET", "/api/v1/messages/stats", params={"since": "1h"})
    assert status == 200, recent
    assert recent["by_method"] == {} and recent["window"]["messages"] == 0
    assert recent["by_status"] == stats["by_status"]


async def test_stats_is_for_admins_and_checks_its_window(start_server) -> None:
    running = await start_server(dispatch=False)
    ann = await running.create_user("ann@example.com")
    status, token = await running.call("POST", f"/api/v1/users/{ann['id']}/tokens", json={})
    assert status == 201, token
    status, body = await running.call("GET", "/api/v1/messages/stats", token=token["token"])
    assert status == 403, body
    status, body = await running.call("GET", "/api/v1/messages/stats", token=None)
    assert status == 401, body
    status, body = await running.call("GET", "/api/v1/messages/stats", params={"since": "soon"})
    assert status == 422 and "since" in body["detail"]
    status, body = await running.call("GET", "/api/v1/messages/stats", params={"since": "0s"})
    assert status == 422, body
    # /messages/{id} still answers for ids: "stats" is a route of its own, not an id.
    status, body = await running.call("GET", f"/api/v1/messages/{uuid.uuid4()}")
    assert status == 404, body


async def test_paused_queue_shows_depth_and_oldest_age(start_server, sink: HttpSink) -> None:
    running = await start_server(webhook_endpoint=sink.url + "/hook")
    status, _ = await running.call("PUT", "/api/v1/notifications/settings", json={"paused": True})
    assert status == 200
    await running.create_user("ann@example.com")
    first = (await running.post_deleted(name="dev"))["messages"][0]["id"]
    await running.post_deleted(name="ci")
    # The first message has waited two minutes.
    async with running.service.db.begin() as conn:
        await conn.execute(
            messages.update()
            .where(messages.c.id == uuid.UUID(first))
            .values(created_at=datetime.now(UTC) - timedelta(seconds=120))
        )
    counter = queue_counter(running.service.db)
    clock = [1000.0]
    counter.clock = lambda: clock[0]

    _, samples = await scrape(running)
    assert value(samples, "clarion_paused") == 1
    assert value(samples, "clarion_messages", status="pending") == 2
    assert value(samples, "clarion_messages", status="sent") == 0
    assert 120 <= value(samples, "clarion_oldest_pending_message_age_seconds") < 180
    status, stats = await running.call("GET", "/api/v1/messages/stats")
    assert status == 200, stats
    assert stats["paused"] is True
    assert stats["by_status"]["pending"] == 2 and stats["by_status"]["sent"] == 0
    assert 120 <= stats["oldest_pending_age_seconds"] < 180
    assert stats["by_method"]["webhook"]["pending"] == 2
    assert stats["window"]["unfinished"] == 2 and stats["window"]["sent"] == 0
    assert sink.received == []

    status, _ = await running.call("PUT", "/api/v1/notifications/settings", json={"paused": False})
    assert status == 200
    await sink.wait_for(2)
    for message in (await running.call("GET", "/api/v1/messages"))[1]["items"]:
        await running.wait_status(message["id"], {"sent"})
    clock[0] += 10
    _, samples = await scrape(running)
    assert value(samples, "clarion_paused") == 0
    # Unfinished messages are counted on every scrape ...
    assert value(samples, "clarion_messages", status="pending") == 0
    assert value(samples, "clarion_oldest_pending_message_age_seconds") == 0
    # ... finished ones at most every 30 seconds (the stats call above counted them last).
    assert value(samples, "clarion_messages", status="sent") == 0
    clock[0] += 30
    _, samples = await scrape(running)
    assert value(samples, "clarion_messages", status="sent") == 2


async def test_delivery_log_lines_name_the_message_and_channel(
    start_server, sink: HttpSink
) -> None:
    running = await start_server(webhook_endpoint=sink.url + "/hook", max_send_attempts=2)
    sink.responder = reply_by_path
    channel = await add_channel(running, sink, name="ops")
    await running.create_user("ann@example.com")
    with structlog.testing.capture_logs() as logs:
        user_message = (await running.post_deleted())["messages"][0]
        channel_message = await post_deploy_failed(running, "api")
        await running.wait_status(user_message["id"], {"sent"})
        await running.wait_status(channel_message["id"], {"permanent_failure"})
    lines = {
        (entry["event"], entry["message_id"]): entry for entry in logs if "message_id" in entry
    }
    delivered = lines["notification delivered", user_message["id"]]
    assert delivered["log_level"] == "info"
    assert delivered["event_type"] == "workspace_deleted"
    assert (delivered["method"], delivered["recipient"]) == ("webhook", "ann@example.com")
    assert delivered["result"] == "sent" and delivered["attempt"] == 1
    assert "channel_id" not in delivered and "channel_kind" not in delivered
    for event, result, attempt in (
        ("notification delivery will be retried", "retried", 1),
        ("notification delivery failed", "failed", 2),
    ):
        line = lines[event, channel_message["id"]]
        assert line["log_level"] == "warning"
        assert line["event_type"] == "deploy_failed"
        assert line["method"] == "channel:webhook" and line["recipient"] == "ops"
        assert line["channel_id"] == channel["id"] and line["channel_kind"] == "webhook"
        assert (line["result"], line["attempt"]) == (result, attempt)
        assert "HTTP 500" in line["reason"]


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Logging configured to a buffer; restored afterwards (no server runs meanwhile)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        yield stream
    finally:
        structlog.reset_defaults()
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


def test_json_logs_are_one_object_per_line(log_stream: io.StringIO) -> None:
    configure_logging("json", "info", stream=log_stream)
    structlog.get_logger("test").info("delivered", message_id="m1", channel_kind="slack")
    structlog.get_logger("test").debug("hidden below the level")
    logging.getLogger("sqlalchemy.pool").warning("pool %s", "exhausted")
    try:
        raise RuntimeError("boom\non two lines")
    except RuntimeError:
        logging.getLogger("asyncio").exception("task failed")
    lines = log_stream.getvalue().splitlines()
    assert len(lines) == 3, lines
    own, stdlib, failure = (json.loads(line) for line in lines)
    assert own["event"] == "delivered" and own["level"] == "info"
    assert (own["message_id"], own["channel_kind"]) == ("m1", "slack")
    assert own["timestamp"].endswith("Z")
    assert stdlib == {
        "event": "pool exhausted",
        "level": "warning",
        "logger": "sqlalchemy.pool",
        "timestamp": stdlib["timestamp"],
    }
    assert failure["level"] == "error" and "RuntimeError: boom" in failure["exception"]


def test_console_logs_stay_readable(log_stream: io.StringIO) -> None:
    configure_logging("console", "debug", stream=log_stream)
    structlog.get_logger("test").debug("delivered", message_id="m1")
    logging.getLogger("alembic").info("upgraded")
    first, second = log_stream.getvalue().splitlines()
    assert "delivered" in first and "message_id=m1" in first and "\x1b[" not in first
    assert "upgraded" in second and "[alembic]" in second


async def test_health_readiness_and_metrics_survive_failures(start_server, monkeypatch) -> None:
    running = await start_server()
    assert await running.call("GET", "/healthz", token=None) == (
        200,
        {"status": "ok", "database": "ok"},
    )
    assert await running.call("GET", "/readyz", token=None) == (
        200,
        {"ready": True, "dispatching": True, "listening": True},
    )

    async def no_database() -> None:
        raise OSError("connection refused")

    async def no_queue() -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(running.service.db, "ping", no_database)
    monkeypatch.setattr(running.service, "refresh_queue_metrics", no_queue)
    status, body = await running.call("GET", "/healthz", token=None)
    assert (status, body["database"]) == (503, "unreachable: OSError")
    status, body = await running.call("GET", "/readyz", token=None)
    assert (status, body["ready"]) == (503, False)
    # The counters are still served while the queue cannot be read.
    text, _ = await scrape(running)
    assert "clarion_deliveries_total" in text
    monkeypatch.undo()

    for dispatcher in running.service.dispatchers:
        dispatcher.stop()
    for _ in range(200):
        if not running.service.dispatching:
            break
        await asyncio.sleep(0.02)
    assert await running.call("GET", "/readyz", token=None) == (
        503,
        {"ready": False, "dispatching": False, "listening": True},
    )
