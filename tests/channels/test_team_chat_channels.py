"""Teams, Lark and Pushover against local fakes: delivery, retries, refusals, escaping."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from clarion.channels.lark import LarkConfig, LarkSender
from clarion.channels.pushover import PushoverConfig, PushoverSender
from clarion.channels.teams import TeamsConfig, TeamsSender
from clarion.delivery.http import HttpClient
from clarion.delivery.outcome import Delivered, Failed, Outbound, Recipient, Retry
from clarion.render import Rendered, RenderedAction
from tests.conftest import free_port
from tests.fakes.sink import Reply
from tests.fakes.team_chat import FakeLark, FakePushover, FakeTeams

INJECTION = (
    '<b>x</b> *bold* _it_ [a](https://evil.example) @here <!channel> <at user_id="all">all</at>'
    " {{DATE(2026-02-14T06:08:39Z, SHORT)}}"
)
LABELS = {
    "project": "shop",
    "application": INJECTION,
    "application_type": "application",
    "error_message": "exit 1\n``` <at id=all></at> *x*",
    "build_url": "https://ci.example.com/b/1",
}
LARK_SECRET = "b3Jc9xK2pL7qR4sT"


@pytest.fixture
async def teams() -> AsyncIterator[FakeTeams]:
    fake = FakeTeams()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def lark() -> AsyncIterator[FakeLark]:
    fake = FakeLark(secret=LARK_SECRET)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def pushover() -> AsyncIterator[FakePushover]:
    fake = FakePushover()
    await fake.start()
    yield fake
    await fake.stop()


def teams_config(fake: FakeTeams, good: bool = True) -> dict[str, Any]:
    return {"webhook_url": fake.webhook_url if good else fake.url_with("forged")}


def lark_config(fake: FakeLark, good: bool = True) -> dict[str, Any]:
    return {"webhook_url": fake.webhook_url, "secret": LARK_SECRET if good else "wrong"}


def pushover_config(fake: FakePushover, good: bool = True, **extra: Any) -> dict[str, Any]:
    token = fake.TOKEN if good else "a" * 30
    return {"user_key": fake.USER, "api_token": token, "api_url": fake.url, **extra}


async def _send(running, kind: str, config: dict[str, Any], project: str = "shop") -> str:
    status, channel = await running.call(
        "POST",
        "/api/v1/channels",
        json={"name": kind, "kind": kind, "config": config, "events": ["deploy_failed"]},
    )
    assert status == 201, channel
    secrets = {"teams": ["webhook_url"], "lark": ["webhook_url", "secret"]}
    for name in secrets.get(kind, ["user_key", "api_token"]):
        assert channel["config"][name] == {"set": True}
        assert config[name] not in json.dumps(channel)
    status, event = await running.call(
        "POST", "/api/v1/events", json={"type": "deploy_failed", "labels": LABELS}
    )
    assert status == 202, event
    return str(event["messages"][0]["id"])


async def test_teams_posts_an_adaptive_card_with_user_text_inert(start_server, teams) -> None:
    running = await start_server()
    await running.wait_status(await _send(running, "teams", teams_config(teams)), {"sent"})
    [request] = teams.received
    body = request.json()
    assert body["type"] == "message" and request.headers["Content-Type"] == "application/json"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == FakeTeams.CARD and attachment["contentUrl"] is None
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    title, text_block = card["body"]
    assert (title["weight"], title["size"], title["wrap"]) == ("Bolder", "Medium", True)
    assert "failed to build" in title["text"] and "\\*bold\\*" in title["text"]
    text = text_block["text"]
    assert "**Project:** shop" in text  # the template's own Markdown stays
    assert "\\*bold\\* \\_it\\_ \\[a\\]\\(https://evil.example\\)" in text
    assert "<b>x</b>" in text and "<!channel>" in text  # Teams renders no HTML: shown as is
    assert "{{" not in text and "{\u200b{DATE" in text  # no Adaptive Card date function
    assert "```" not in text and "\\`\\`\\` <at id=all></at> \\*x\\*" in text
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "View deployment", "url": "https://ci.example.com/b/1"}
    ]


async def test_lark_posts_a_signed_card_with_user_text_escaped(start_server, lark) -> None:
    running = await start_server()
    await running.wait_status(await _send(running, "lark", lark_config(lark)), {"sent"})
    [request] = lark.received
    body = request.json()
    assert body["msg_type"] == "interactive" and body["timestamp"].isdigit() and body["sign"]
    card = body["card"]
    assert card["schema"] == "2.0" and card["header"]["template"] == "red"
    assert card["header"]["title"]["tag"] == "plain_text"
    assert INJECTION in card["header"]["title"]["content"]  # plain text: never parsed
    markdown, button = card["body"]["elements"]
    content = markdown["content"]
    assert lark.mentions == [] and "<" not in content and ">" not in content
    assert '&lt;at user\\_id="all"&gt;all&lt;/at&gt;' in content
    assert "&lt;b&gt;x&lt;/b&gt; \\*bold\\* \\_it\\_ \\[a\\]\\(https://evil.example\\)" in content
    assert "**Project:** shop" in content
    assert content.count("```") == 2 and "\u02cb\u02cb\u02cb &lt;at id=all&gt;" in content
    assert button["text"] == {"tag": "plain_text", "content": "View deployment"}
    assert button["behaviors"] == [
        {"type": "open_url", "default_url": "https://ci.example.com/b/1"}
    ]


async def test_pushover_posts_a_form_with_plain_text(start_server, pushover) -> None:
    running = await start_server()
    config = pushover_config(pushover, priority=2, retry=60, expire=7200)
    await running.wait_status(await _send(running, "pushover", config), {"sent"})
    [request] = pushover.received
    assert request.path == "/1/messages.json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = pushover.form()
    assert (form["token"], form["user"]) == (FakePushover.TOKEN, FakePushover.USER)
    assert (form["priority"], form["retry"], form["expire"]) == ("2", "60", "7200")
    assert "html" not in form and form["title"].endswith("failed to build")
    assert INJECTION in form["message"] and "``` <at id=all></at> *x*" in form["message"]
    assert (form["url"], form["url_title"]) == ("https://ci.example.com/b/1", "View deployment")


RETRIES = {
    "teams": (teams_config, [Reply(429, "Too Many Requests", {"Retry-After": "1"})]),
    "lark": (lark_config, [Reply(503, "upstream unavailable")]),
}


@pytest.mark.parametrize("kind", ["teams", "lark"])
async def test_throttled_then_delivered(start_server, teams, lark, kind: str) -> None:
    fake = {"teams": teams, "lark": lark}[kind]
    config, failing = RETRIES[kind]
    fake.failing = [*failing, *([fake.frequency_limited()] if kind == "lark" else [])]
    scripted = len(fake.failing)
    running = await start_server(retry_interval="100ms", fetch_interval="200ms")
    message = await running.wait_status(await _send(running, kind, config(fake)), {"sent"})
    outcomes = [a["outcome"] for a in message["attempts"]]
    assert outcomes == ["retry"] * scripted + ["delivered"] and len(fake.received) == scripted + 1
    details = [a["detail"] for a in message["attempts"]]
    if kind == "teams":
        assert "429" in details[0]
        assert fake.received[1].at - fake.received[0].at >= 0.95  # Retry-After: 1
    else:
        assert "503" in details[0] and "11232" in details[1] and "frequency" in details[1]


FAILURES: list[tuple[str, Callable[..., dict[str, Any]], str]] = [
    ("teams", teams_config, "DirectApiInvalidAuthorizationSignature"),
    ("lark", lark_config, "code 19021: sign match fail"),
    ("pushover", pushover_config, "application token is invalid"),
]


@pytest.mark.parametrize(("kind", "config", "error"), FAILURES, ids=[f[0] for f in FAILURES])
async def test_refused_credentials_fail_permanently_and_the_test_says_why(
    start_server, teams, lark, pushover, kind: str, config: Any, error: str
) -> None:
    fake = {"teams": teams, "lark": lark, "pushover": pushover}[kind]
    running = await start_server()
    message = await running.wait_status(
        await _send(running, kind, config(fake, False)), {"permanent_failure"}
    )
    assert error in message["status_reason"] and message["attempt_count"] == 1
    status, result = await running.call(
        "POST", "/api/v1/channels/test", json={"kind": kind, "config": config(fake, False)}
    )
    assert status == 200 and result["ok"] is False and error in result["detail"]
    status, result = await running.call(
        "POST", "/api/v1/channels/test", json={"kind": kind, "config": config(fake)}
    )
    assert (status, result["ok"]) == (200, True), result


def _outbound(body: str, title: str = "Disk full", url: str = "https://ci.example.com/b/1"):
    content = Rendered(title, title, body, body, "", (RenderedAction("Logs", url),))
    return Outbound("m1", "test_notification", "", "", Recipient(), content)


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(timeout=5, allow_private=True)
    yield client
    await client.close()


async def test_pushover_retries_no_sooner_than_5s_and_quota_is_permanent(http, pushover) -> None:
    sender = PushoverSender(PushoverConfig(**pushover_config(pushover)), http)
    pushover.failing = [Reply(503, "{}"), Reply(502, "{}", {"Retry-After": "30"})]
    first, second = [await sender.send(_outbound("x")) for _ in range(2)]
    assert isinstance(first, Retry) and first.after == 5 and "503" in first.reason
    assert isinstance(second, Retry) and second.after == 30
    unreachable = PushoverConfig(**{**pushover_config(pushover), "api_url": "http://127.0.0.1:1"})
    down = await PushoverSender(unreachable, http).send(_outbound("x"))
    assert isinstance(down, Retry) and down.after == 5
    quota = '{"errors":["application has exceeded its monthly message limit"],"status":0}'
    pushover.failing = [Reply(429, quota, {"Content-Type": "application/json"})]
    refused = await sender.send(_outbound("x"))
    assert isinstance(refused, Failed) and "quota" in refused.reason
    assert "exceeded its monthly message limit" in refused.reason
    # Over-long text is cut to Pushover's limits (the fake refuses anything longer).
    delivered = await sender.send(
        _outbound("y" * 5000, "t" * 400, "https://x.example/" + "p" * 600)
    )
    assert isinstance(delivered, Delivered)
    form = pushover.form(-1)
    assert len(form["message"]) == 1024 and form["message"].endswith("…")
    assert len(form["title"]) == 250 and "url" not in form  # a cut URL would be wrong


async def test_oversized_bodies_are_cut_to_fit(http, teams, lark) -> None:
    body = "- **log:** " + "é<x> " * 12_000
    outcome = await TeamsSender(TeamsConfig(webhook_url=teams.webhook_url), http).send(
        _outbound(body)
    )
    assert isinstance(outcome, Delivered), outcome
    assert 20_000 < len(teams.received[0].body) <= FakeTeams.LIMIT
    text = teams.received[0].json()["attachments"][0]["content"]["body"][1]["text"]
    assert text.startswith("- **log:** é<x>") and text.endswith("…")
    lark_sender = LarkSender(LarkConfig(**lark_config(lark)), http)
    fenced = "```\n" + "é<x> " * 6_000 + "\n```"
    for markdown in (body, fenced):
        outcome = await lark_sender.send(_outbound(markdown))
        assert isinstance(outcome, Delivered), outcome
        assert 15_000 < len(lark.received[-1].body) <= FakeLark.LIMIT
        content = lark.received[-1].json()["card"]["body"]["elements"][0]["content"]
        assert "…" in content and content.count("```") in (0, 2)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"StatusCode": 0, "StatusMessage": "success"}, Delivered),
        ({"code": 19024, "msg": "Key Words Not Found"}, Failed),
        ({"code": 11232, "msg": "frequency limited"}, Retry),
    ],
)
async def test_lark_reads_the_code_in_the_body(http, lark, answer, expected) -> None:
    lark.failing = [Reply(200, json.dumps(answer), {"Content-Type": "application/json"})]
    outcome = await LarkSender(LarkConfig(**lark_config(lark)), http).send(_outbound("x"))
    assert type(outcome) is expected, outcome
    if expected is not Delivered:
        assert f"code {answer['code']}: {answer['msg']}" in outcome.reason


async def test_closed_port_is_retried(http) -> None:
    config = TeamsConfig(webhook_url=f"http://127.0.0.1:{free_port()}/workflows/x")
    outcome = await TeamsSender(config, http).send(_outbound("x"))
    assert isinstance(outcome, Retry) and "could not connect to Teams" in outcome.reason
