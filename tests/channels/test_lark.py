"""The Lark (Feishu) bot payload, built on its own: a signed card within the size limit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from clarion.channels.lark import MAX_BUTTONS, REQUEST_BYTES, lark_payload, lark_sign
from tests.channels.sample import outbound


def test_a_card_with_header_markdown_and_buttons() -> None:
    payload = lark_payload(outbound())
    assert payload["msg_type"] == "interactive" and "sign" not in payload
    card = payload["card"]
    assert card["header"]["title"] == {"tag": "plain_text", "content": "Deploy of api failed"}
    body, button = card["body"]["elements"]
    assert body == {"tag": "markdown", "content": "The build **failed** at step 3."}
    assert button["type"] == "primary"
    assert button["behaviors"] == [
        {"type": "open_url", "default_url": "https://ci.example.com/b/1"}
    ]


def test_the_signature_is_larks_hmac_of_timestamp_and_secret() -> None:
    payload = lark_payload(outbound(), secret="s3cret", now=1_700_000_000.7)
    assert payload["timestamp"] == "1700000000"
    key = b"1700000000\ns3cret"
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert payload["sign"] == lark_sign("s3cret", 1_700_000_000) == expected


@pytest.mark.parametrize(
    ("event_type", "template"),
    [("deploy_failed", "red"), ("backup_completed", "green"), ("user_created", "blue")],
)
def test_the_header_colour_follows_the_event(event_type: str, template: str) -> None:
    assert lark_payload(outbound(event_type=event_type))["card"]["header"]["template"] == template


def test_a_huge_body_is_cut_with_its_code_fence_closed() -> None:
    actions = tuple((f"A{n}", f"https://e.example.com/{n}") for n in range(8))
    payload = lark_payload(outbound(body="```\n" + "x" * 30_000, actions=actions), secret="k")
    size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    assert size <= REQUEST_BYTES
    body, *buttons = payload["card"]["body"]["elements"]
    assert body["content"].count("```") % 2 == 0
    assert len(buttons) == MAX_BUTTONS
