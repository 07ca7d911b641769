"""Telegram against a local Bot API fake."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from clarion.channels.telegram import TelegramConfig, TelegramSender
from clarion.delivery.http import HttpClient
from clarion.delivery.outcome import Outbound, Recipient, Retry
from clarion.render import Rendered
from tests.fakes.push import FakeTelegram
from tests.fakes.sink import Reply

LABELS = {
    "project": "shop",
    "application": "<script>x</script> & *y*",
    "application_type": "compose",
    "error_message": "npm ERR! <missing> & more",
    "build_url": "https://ci.example.com/b/1?a=1&b=2",
}


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


def config(fake: FakeTelegram, token: str | None = None, chat: str = "-1001234567890") -> dict:
    return {
        "bot_token": token or fake.TOKEN,
        "chat_id": chat,
        "api_url": fake.url,
        "message_thread_id": 11,
    }


async def _send(running, fake: FakeTelegram, cfg: dict) -> str:
    status, channel = await running.call(
        "POST",
        "/api/v1/channels",
        json={"name": "tg", "kind": "telegram", "config": cfg, "events": ["deploy_failed"]},
    )
    assert status == 201, channel
    assert channel["config"]["bot_token"] == {"set": True}
    _, event = await running.call(
        "POST", "/api/v1/events", json={"type": "deploy_failed", "labels": LABELS}
    )
    return str(event["messages"][0]["id"])


async def test_html_message_with_escaped_values_and_buttons(start_server, telegram) -> None:
    running = await start_server()
    await running.wait_status(await _send(running, telegram, config(telegram)), {"sent"})
    [request] = telegram.received
    body = request.json()
    assert body["parse_mode"] == "HTML" and body["message_thread_id"] == 11
    assert "&lt;script&gt;x&lt;/script&gt; &amp; *y*" in body["text"]
    assert "<pre>npm ERR! &lt;missing&gt; &amp; more</pre>" in body["text"]
    assert body["reply_markup"]["inline_keyboard"] == [
        [{"text": "View deployment", "url": "https://ci.example.com/b/1?a=1&b=2"}]
    ]


async def test_retry_after_from_parameters_and_permanent_errors(start_server, telegram) -> None:
    telegram.failing = [
        Reply(
            429,
            json.dumps(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                }
            ),
            {"Content-Type": "application/json"},
        )
    ]
    running = await start_server(retry_interval="100ms")
    message = await running.wait_status(await _send(running, telegram, config(telegram)), {"sent"})
    first, second = telegram.received
    assert second.at - first.at >= 0.95
    assert "retry after 1" in message["attempts"][0]["detail"]

    for cfg, fragment in [
        (config(telegram, token="999:bad"), "Unauthorized"),
        (config(telegram, chat="42"), "chat not found"),
    ]:
        status, result = await running.call(
            "POST", "/api/v1/channels/test", json={"kind": "telegram", "config": cfg}
        )
        assert status == 200 and result["ok"] is False and fragment in result["detail"]
    status, result = await running.call(
        "POST", "/api/v1/channels/test", json={"kind": "telegram", "config": config(telegram)}
    )
    assert (status, result["ok"]) == (200, True)
    status, result = await running.call(
        "POST",
        "/api/v1/channels/test",
        json={"kind": "telegram", "config": {"chat_id": "1", "bot_token": "x"}},
    )
    assert status == 422 and "bot_token" in result["detail"]


@pytest.mark.parametrize(
    "parameters", [[], "retry later", {"retry_after": "soon"}, {"retry_after": -5}]
)
async def test_a_malformed_retry_hint_keeps_the_headers_wait(telegram, parameters) -> None:
    """A 429 whose JSON hint is not a number of seconds is still a retry, after Retry-After."""
    answer = {"ok": False, "error_code": 429, "description": "slow", "parameters": parameters}
    telegram.failing = [
        Reply(429, json.dumps(answer), {"Content-Type": "application/json", "Retry-After": "7"})
    ]
    http = HttpClient(timeout=5, allow_private=True)
    try:
        sender = TelegramSender(TelegramConfig.model_validate(config(telegram)), http)
        content = Rendered("Disk full", "Disk full", "body", "body", "")
        outcome = await sender.send(Outbound("m1", "t", "", "", Recipient(), content))
    finally:
        await http.close()
    assert isinstance(outcome, Retry) and outcome.after == 7.0
    assert outcome.reason == "Telegram answered 429: slow"
