"""The custom webhook's body and signature, built on their own."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from clarion.channels.webhook import sign, signing_key, webhook_body
from tests.channels.sample import outbound


def test_the_body_carries_the_rendered_message_labels_and_data() -> None:
    message = outbound(payload={"labels": {"project": "api"}, "data": {"run": 7}})
    body = webhook_body(message)
    assert body["type"] == "deploy_failed"
    assert body["timestamp"].endswith("Z")
    assert datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    assert body["data"] == {
        "id": message.message_id,
        "title": "Deploy of api failed",
        "message": "The build failed at step 3.",
        "body_markdown": "The build **failed** at step 3.",
        "actions": [{"label": "View build", "url": "https://ci.example.com/b/1"}],
        "labels": {"project": "api"},
        "data": {"run": 7},
    }


def test_without_labels_or_data_the_fields_are_empty() -> None:
    data = webhook_body(outbound())["data"]
    assert (data["labels"], data["data"]) == ({}, None)


def test_the_signature_is_standard_webhooks_hmac_of_id_time_and_body() -> None:
    key = signing_key("whsec_" + base64.b64encode(b"k" * 24).decode())
    assert key == b"k" * 24
    mac = hmac.new(key, b"msg1.1700000000.{}", hashlib.sha256).digest()
    signature = sign("whsec_" + base64.b64encode(b"k" * 24).decode(), "msg1", 1_700_000_000, b"{}")
    assert signature == "v1," + base64.b64encode(mac).decode()
