"""The ``webhook`` channel kind (Dokploy's "custom"): JSON to any URL, signed per Standard Webhooks.

Body: ``{"type": <event key>, "timestamp": <ISO 8601>, "data": {…}}``. With a ``secret``
(``whsec_`` + base64), each attempt carries ``webhook-id`` (the message id, stable across
retries), ``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from clarion.channels.registry import ChannelKind, HttpUrlField
from clarion.delivery.http import HttpClient
from clarion.delivery.outcome import Outbound, Outcome

# An HTTP header name (RFC 9110 token) and what a header value may not hold (tab aside).
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


class CustomWebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: HttpUrlField = Field(description="the URL clarion POSTs to")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    secret: str | None = Field(None, description="whsec_… key for Standard Webhooks signatures")

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        # A line break would end the header early (aiohttp refuses to send it at all); the
        # value is a secret, so the message names the header only.
        for name, text in value.items():
            if not _TOKEN.match(name):
                raise ValueError(f"{name!r} is not a header name")
            if _CONTROL.search(text):
                raise ValueError(f"the value of {name!r} holds a line break or control character")
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value:
            signing_key(value)
        return value or None


def signing_key(secret: str) -> bytes:
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("secret must be 'whsec_' followed by base64") from None
    if not 16 <= len(key) <= 64:
        raise ValueError("secret must decode to 16 to 64 bytes")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_body(message: Outbound) -> dict[str, Any]:
    content = message.content
    payload = message.payload
    return {
        "type": message.event_type,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": {
            "id": message.message_id,
            "title": content.title,
            "message": content.body_text,
            "body_markdown": content.body_markdown,
            "actions": [{"label": a.label, "url": a.url} for a in content.actions],
            "labels": payload.get("labels", {}),
            "data": payload.get("data"),
        },
    }


class CustomWebhookSender:
    def __init__(self, config: CustomWebhookConfig, http: HttpClient):
        self.config = config
        self.http = http

    async def send(self, message: Outbound) -> Outcome:
        body = json.dumps(webhook_body(message), separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", **self.config.headers}
        if self.config.secret:
            timestamp = int(time.time())
            headers["webhook-id"] = message.message_id
            headers["webhook-timestamp"] = str(timestamp)
            headers["webhook-signature"] = sign(
                self.config.secret, message.message_id, timestamp, body
            )
        outcome, _, _ = await self.http.post(
            self.config.endpoint, data=body, headers=headers, provider="webhook"
        )
        return outcome


KIND = ChannelKind(
    kind="webhook",
    title="Custom webhook",
    config_model=CustomWebhookConfig,
    secret_fields=frozenset({"secret", "headers"}),
    build=lambda config, deps: CustomWebhookSender(config, deps.http),
    description="POST a JSON envelope to any URL, optionally signed (Standard Webhooks).",
)
