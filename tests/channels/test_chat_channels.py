"""Slack and Discord channels against local fakes that check what the real services check."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from tests.fakes.chat import FakeDiscord, FakeSlack

INJECTION = "<!channel> @here @everyone <b>x</b> *bold* _it_ [a](https://evil.example) `c`"
LABELS = {
    "project": "shop",
    "application": INJECTION,
    "application_type": "application",
    "error_message": "exit 1 ``` <@U123>",
    "build_url": "https://ci.example.com/b/1",
}


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.stop()


async def _channel(running, kind: str, url: str) -> str:
    status, channel = await running.call(
        "POST",
        "/api/v1/channels",
        json={
            "name": f"{kind} ops",
            "kind": kind,
            "config": {"webhook_url": url},
            "events": ["deploy_failed"],
        },
    )
    assert status == 201, channel
    assert channel["config"]["webhook_url"] == {"set": True}
    return str(channel["id"])


async def _deploy_failed(running) -> str:
    status, event = await running.call(
        "POST", "/api/v1/events", json={"type": "deploy_failed", "labels": LABELS}
    )
    assert status == 202, event
    [message] = event["messages"]
    return str(message["id"])


async def test_slack_delivers_block_kit_with_user_text_escaped(
    start_server, slack: FakeSlack
) -> None:
    running = await start_server()
    await _channel(running, "slack", slack.webhook_url)
    message = await running.wait_status(await _deploy_failed(running), {"sent"})
    [request] = slack.received
    body = request.json()
    header, section, actions = body["blocks"]
    assert header["type"] == "header" and "failed to build" in header["text"]["text"]
    text = section["text"]["text"]
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "&lt;b&gt;x&lt;/b&gt;" in text and "&lt;@U123&gt;" in text
    assert "<https://evil.example|a>" not in text  # the label's link stays text
    assert actions["elements"][0]["url"] == "https://ci.example.com/b/1"
    # The notification text (shown in alerts) is parsed for mentions as the blocks are.
    assert "&lt;!channel&gt;" in body["text"] and "&lt;b&gt;x&lt;/b&gt;" in body["text"]
    assert "<" not in body["text"] and ">" not in body["text"]
    assert message["attempt_count"] == 1


@pytest.mark.slow
async def test_slack_rate_limit_is_retried_and_bad_url_fails(
    start_server, slack: FakeSlack
) -> None:
    running = await start_server(retry_interval="100ms")
    channel_id = await _channel(running, "slack", slack.webhook_url)
    slack.rate_limited = 1
    message = await running.wait_status(await _deploy_failed(running), {"sent"}, timeout=10)
    first, second = slack.received
    assert second.at - first.at >= 0.95  # Retry-After: 1
    assert (
        message["attempts"][0]["outcome"] == "retry" and "429" in message["attempts"][0]["detail"]
    )

    status, _ = await running.call(
        "PATCH",
        f"/api/v1/channels/{channel_id}",
        json={"config": {"webhook_url": slack.url + "/services/T/B/revoked"}},
    )
    assert status == 200
    LABELS["project"] = "other"
    try:
        failed = await running.wait_status(await _deploy_failed(running), {"permanent_failure"})
    finally:
        LABELS["project"] = "shop"
    assert "404" in failed["status_reason"] and "no_service" in failed["status_reason"]


async def test_slack_connection_test_returns_provider_error(start_server, slack: FakeSlack) -> None:
    running = await start_server(dispatch=False)
    status, ok = await running.call(
        "POST",
        "/api/v1/channels/test",
        json={"kind": "slack", "config": {"webhook_url": slack.webhook_url}},
    )
    assert (status, ok["ok"]) == (200, True)
    status, bad = await running.call(
        "POST",
        "/api/v1/channels/test",
        json={"kind": "slack", "config": {"webhook_url": slack.url + "/services/nope"}},
    )
    assert status == 200 and bad["ok"] is False and "no_service" in bad["detail"]
    status, invalid = await running.call(
        "POST", "/api/v1/channels/test", json={"kind": "slack", "config": {}}
    )
    assert status == 422 and "webhook_url" in invalid["detail"]


async def test_discord_delivers_an_embed_without_pings(start_server, discord: FakeDiscord) -> None:
    running = await start_server()
    await _channel(running, "discord", discord.webhook_url)
    await running.wait_status(await _deploy_failed(running), {"sent"})
    [request] = discord.received
    assert "wait=true" in request.path
    body = request.json()
    assert body["allowed_mentions"] == {"parse": []}
    [embed] = body["embeds"]
    assert embed["color"] == 0xED4245 and "failed to build" in embed["title"]
    description = embed["description"]
    assert "\\<\\!channel\\>" not in description  # '!' is not special; '<' and '>' are escaped
    assert "\\<!channel\\>" in description and "\\@everyone" in description
    assert "\\*bold\\*" in description and "\\[a\\]\\(https://evil.example\\)" in description
    assert "[View deployment](https://ci.example.com/b/1)" in description
    assert "```" in description and description.count("```") == 2  # the label cannot close it


async def test_discord_429_body_retry_after_and_unknown_webhook(
    start_server, discord: FakeDiscord
) -> None:
    running = await start_server(retry_interval="100ms")
    channel_id = await _channel(running, "discord", discord.webhook_url)
    discord.rate_limited = 1
    await running.wait_status(await _deploy_failed(running), {"sent"}, timeout=10)
    first, second = discord.received
    assert second.at - first.at >= 1.45  # retry_after 1.5 from the JSON body
    await running.call(
        "PATCH",
        f"/api/v1/channels/{channel_id}",
        json={"config": {"webhook_url": discord.url + "/api/webhooks/1/gone"}},
    )
    LABELS["project"] = "other"
    try:
        failed = await running.wait_status(await _deploy_failed(running), {"permanent_failure"})
    finally:
        LABELS["project"] = "shop"
    assert "404" in failed["status_reason"] and "Unknown Webhook" in failed["status_reason"]


@pytest.mark.slow
async def test_burst_to_a_paced_slack_channel_is_complete_and_never_too_fast(
    start_server, slack: FakeSlack
) -> None:
    # Slack's pace is 1/s; 4/s here keeps the test short while checking the same thing.
    running = await start_server(max_send_attempts=2)
    status, channel = await running.call(
        "POST",
        "/api/v1/channels",
        json={
            "name": "paced",
            "kind": "slack",
            "config": {"webhook_url": slack.webhook_url, "max_per_second": 4},
            "events": ["deploy_failed"],
        },
    )
    assert status == 201, channel
    ids = []
    for i in range(16):
        _, event = await running.call(
            "POST",
            "/api/v1/events",
            json={"type": "deploy_failed", "labels": {**LABELS, "project": f"p{i}"}},
        )
        ids.append(event["messages"][0]["id"])
    await slack.wait_for(16, timeout=30)
    for message_id in ids:
        message = await running.wait_status(message_id, {"sent"})
        assert message["attempt_count"] == 1  # waiting for the pace is not an attempt
    arrivals = [r.at for r in slack.received]
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert len(slack.received) == 16
    assert min(gaps) >= 0.25, gaps  # counted from each send's end: never under the pace
    texts = [r.json()["blocks"][1]["text"]["text"] for r in slack.received]
    assert len(set(texts)) == 16  # none twice
