"""Slack's Web API: the ``slack_bot`` channel kind and the ``slack`` user method (DM by email)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import pytest

from clarion.channels.slack_bot import slack_api_outcome
from clarion.delivery.outcome import Delivered, Retry
from tests.fakes.chat import FakeSlackApi

LABELS = {
    "project": "shop",
    "application": "<!channel> @here *bold* _it_ [a](https://evil.example) <b>x</b>",
    "application_type": "application",
    "error_message": "exit 1",
    "build_url": "https://ci.example.com/b/1",
}


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackApi]:
    fake = FakeSlackApi()
    await fake.start()
    yield fake
    await fake.stop()


def config(slack: FakeSlackApi, **extra: Any) -> dict[str, Any]:
    return {"bot_token": slack.TOKEN, "api_url": slack.api_url, **extra}


async def _deploy_failed(running, project: str = "shop") -> str:
    status, event = await running.call(
        "POST",
        "/api/v1/events",
        json={"type": "deploy_failed", "labels": {**LABELS, "project": project}},
    )
    assert status == 202, event
    return str(event["messages"][0]["id"])


async def _channel(running, cfg: dict[str, Any]) -> dict[str, Any]:
    status, channel = await running.call(
        "POST",
        "/api/v1/channels",
        json={"name": "slack bot", "kind": "slack_bot", "config": cfg, "events": ["deploy_failed"]},
    )
    assert status == 201, channel
    return dict(channel)


async def test_posts_block_kit_to_a_channel_with_text_escaped(start_server, slack) -> None:
    running = await start_server()
    channel = await _channel(running, config(slack, channel=slack.CHANNEL))
    assert channel["config"]["bot_token"] == {"set": True}
    assert slack.TOKEN not in str(channel)
    await running.wait_status(await _deploy_failed(running), {"sent"})
    [request] = slack.received
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == f"Bearer {slack.TOKEN}"
    body = request.json()
    assert body["channel"] == slack.CHANNEL and body["text"]
    header, section, actions = body["blocks"]
    assert header["text"]["type"] == "plain_text"
    text = section["text"]["text"]
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text and "&lt;b&gt;" in text
    assert actions["elements"][0]["url"] == "https://ci.example.com/b/1"
    assert "&lt;!channel&gt;" in body["text"] and "&lt;b&gt;x&lt;/b&gt;" in body["text"]
    assert "<" not in body["text"] and ">" not in body["text"]


async def test_dm_by_email_looks_the_person_up_once(start_server, slack) -> None:
    running = await start_server()
    await _channel(running, config(slack, email="bob@example.com"))
    await running.wait_status(await _deploy_failed(running), {"sent"})
    await running.wait_status(await _deploy_failed(running, "other"), {"sent"})
    lookups = [r for r in slack.received if "lookupByEmail" in r.path]
    posts = [r.json() for r in slack.received if "postMessage" in r.path]
    assert len(lookups) == 1 and "email=bob@example.com" in unquote(lookups[0].path)
    assert [p["channel"] for p in posts] == ["U0BOB0002", "U0BOB0002"]


@pytest.mark.slow
async def test_ok_false_errors_are_permanent_and_ratelimited_is_retried(
    start_server, slack
) -> None:
    running = await start_server(retry_interval="100ms")
    channel = await _channel(running, config(slack, channel="C0GONE"))
    failed = await running.wait_status(await _deploy_failed(running), {"permanent_failure"})
    assert "channel_not_found" in failed["status_reason"] and failed["attempt_count"] == 1

    status, _ = await running.call(
        "PATCH",
        f"/api/v1/channels/{channel['id']}",
        json={"config": config(slack, channel=slack.CHANNEL)},
    )
    assert status == 200
    slack.rate_limited = 1
    sent = await running.wait_status(await _deploy_failed(running, "b"), {"sent"}, timeout=10)
    assert sent["attempt_count"] == 2 and "ratelimited" in sent["attempts"][0]["detail"]
    first, second = slack.received[-2:]
    assert second.at - first.at >= 0.95  # Retry-After: 1


async def test_connection_test_reports_slack_errors(start_server, slack) -> None:
    running = await start_server(dispatch=False)
    bad = {**config(slack, channel=slack.CHANNEL), "bot_token": "xoxb-revoked"}
    status, answer = await running.call(
        "POST", "/api/v1/channels/test", json={"kind": "slack_bot", "config": bad}
    )
    assert status == 200 and answer["ok"] is False and "invalid_auth" in answer["detail"]
    slack.scopes.discard("users:read.email")
    status, answer = await running.call(
        "POST",
        "/api/v1/channels/test",
        json={"kind": "slack_bot", "config": config(slack, email="ann@example.com")},
    )
    assert answer["ok"] is False and "missing_scope" in answer["detail"]
    assert "users:read.email" in answer["detail"]
    status, invalid = await running.call(
        "POST", "/api/v1/channels/test", json={"kind": "slack_bot", "config": config(slack)}
    )
    assert status == 422 and "channel" in invalid["detail"]


async def test_slack_method_messages_the_user_directly(start_server, slack) -> None:
    running = await start_server(
        method="slack", slack_bot_token=slack.TOKEN, slack_api_url=slack.api_url
    )
    await running.create_user("ann@example.com")
    await running.create_user("nobody@example.com")
    deleted = await running.post_deleted("ann@example.com", name="dev <!channel> & co")
    [queued] = deleted["messages"]
    assert queued["method"] == "slack"
    await running.wait_status(queued["id"], {"sent"})
    post = next(r.json() for r in slack.received if "postMessage" in r.path)
    assert post["channel"] == "U0ANN0001" and "dev" in post["blocks"][0]["text"]["text"]
    assert "dev &lt;!channel&gt; &amp; co" in post["text"] and "<" not in post["text"]

    [unknown] = (await running.post_deleted("nobody@example.com"))["messages"]
    failed = await running.wait_status(unknown["id"], {"permanent_failure"})
    assert "no Slack user has the email nobody@example.com" in failed["status_reason"]


@pytest.mark.parametrize("body", ["[1]", '"ok"', "<html>upstream error</html>", ""])
def test_an_answer_that_is_not_a_json_object_is_retried(body: str) -> None:
    outcome, parsed = slack_api_outcome(Delivered(), body, "chat.postMessage")
    assert isinstance(outcome, Retry) and "not a JSON object" in outcome.reason
    assert parsed == {}
