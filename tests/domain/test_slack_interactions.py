"""Slack interactivity: a signed click is kept with its message; any other request is a 401
and keeps nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from clarion.channels.slack import slack_payload
from clarion.delivery.outcome import Outbound, Recipient
from clarion.domain.slack_interactions import check_signature, clicks
from clarion.errors import Unauthenticated
from clarion.render import Rendered, RenderedAction

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def _sign(body: bytes, at: int, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"v0:{at}:".encode() + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": str(at), "X-Slack-Signature": "v0=" + digest.hexdigest()}


def _click(message_id: str, label: str = "View workspace") -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0123", "username": "ann"},
        "actions": [
            {
                "type": "button",
                "action_id": "clarion-action-0",
                "value": message_id,
                "text": {"type": "plain_text", "text": label},
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def test_the_signature_is_slacks_v0_hmac_of_timestamp_and_body() -> None:
    body, now = b"payload=%7B%7D", int(time.time())
    headers = _sign(body, now)
    check_signature(
        SECRET, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"], body, now
    )
    refusals = [
        (None, None),  # missing
        (str(now), "v0=" + "0" * 64),  # wrong
        (str(now - 301), _sign(body, now - 301)["X-Slack-Signature"]),  # stale
        (str(now), _sign(body, now, "another-secret")["X-Slack-Signature"]),
        ("yesterday", "v0=00"),
        (str(now), "v0=\u00ff"),  # not ASCII: refused, not a crash in the comparison
    ]
    for timestamp, signature in refusals:
        with pytest.raises(Unauthenticated):
            check_signature(SECRET, timestamp, signature, body, now)


def test_buttons_carry_the_message_they_belong_to() -> None:
    action = RenderedAction("View workspace", "https://coder.example.com/@ann/dev")
    message = Outbound(
        message_id="6f1c0d5e-0000-4000-8000-000000000001",
        event_type="workspace_deleted",
        template_id="",
        template_name="Workspace Deleted",
        recipient=Recipient(user_id="", email="ann@example.com", name="Ann"),
        content=Rendered(
            title="Workspace dev was deleted",
            title_markdown="Workspace dev was deleted",
            body_markdown="It was idle.",
            body_text="It was idle.",
            body_html="<p>It was idle.</p>",
            actions=(action,),
        ),
    )
    [actions] = [b for b in slack_payload(message)["blocks"] if b["type"] == "actions"]
    assert [e["value"] for e in actions["elements"]] == [message.message_id]
    assert actions["elements"][0]["url"] == "https://coder.example.com/@ann/dev"


async def test_a_signed_click_is_kept_with_its_message(start_server) -> None:
    running = await start_server(dispatch=False, slack_signing_secret=SECRET)
    await running.create_user("ann@example.com")
    [queued] = (await running.post_deleted())["messages"]
    url = running.url + "/api/v1/slack/interactions"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    body = _click(queued["id"])
    now = int(time.time())

    bad = [
        {},  # missing
        {**_sign(body, now), "X-Slack-Signature": "v0=" + "0" * 64},  # wrong
        _sign(body, now - 600),  # stale
    ]
    for headers in bad:
        async with running.http.post(url, data=body, headers={**form, **headers}) as answer:
            assert answer.status == 401, await answer.text()
    _, message = await running.call("GET", f"/api/v1/messages/{queued['id']}")
    assert message["interactions"] == []

    async with running.http.post(url, data=body, headers={**form, **_sign(body, now)}) as answer:
        assert answer.status == 200
    _, message = await running.call("GET", f"/api/v1/messages/{queued['id']}")
    [click] = message["interactions"]
    assert (click["provider"], click["action"], click["actor"]) == (
        "slack",
        "View workspace",
        "ann (U0123)",
    )
    # The operator sees it on the message's page too.
    cookie = await running.session_cookie()
    async with running.http.get(
        running.url + f"/admin/messages/{queued['id']}",
        headers={"Cookie": f"clarion_session={cookie}"},
    ) as page:
        assert "ann (U0123)" in await page.text()


async def test_without_a_signing_secret_interactivity_is_off(start_server) -> None:
    running = await start_server(dispatch=False)
    async with running.http.post(
        running.url + "/api/v1/slack/interactions", data=_click("x"), headers=_sign(b"", 0)
    ) as answer:
        assert answer.status == 404
        assert "CLARION_SLACK_SIGNING_SECRET" in (await answer.json())["detail"]


def test_odd_payloads_keep_what_they_can_and_never_crash() -> None:
    message_id = "6f1c0d5e-0000-4000-8000-000000000001"
    payload = {
        "type": "block_actions",
        "user": "bob",  # not an object
        "actions": [
            {"value": message_id, "text": {"type": "plain_text"}, "action_id": "clarion-action-1"},
            {"value": "not an id"},
            "not an action",
        ],
    }
    found = clicks(urlencode({"payload": json.dumps(payload)}).encode(), datetime.now(UTC))
    [(kept_id, [click])] = found.items()
    assert str(kept_id) == message_id
    assert (click.action, click.actor) == ("clarion-action-1", "someone")
