"""The ``webhook`` method: POST the Coder v1.1 payload to ``CLARION_WEBHOOK_ENDPOINT``."""

from __future__ import annotations

from typing import Any

from clarion.delivery.http import HttpClient
from clarion.delivery.outcome import Failed, Outbound, Outcome


def coder_webhook_body(message: Outbound) -> dict[str, Any]:
    """Coder's envelope ``_version`` 1.1 around the stored payload ``_version`` 1.2."""
    content = message.content
    return {
        "_version": "1.1",
        "msg_id": message.message_id,
        "payload": dict(message.payload),
        "title": content.title,
        "title_markdown": content.title_markdown,
        "body": content.body_text,
        "body_markdown": content.body_markdown,
    }


class CoderWebhookSender:
    def __init__(self, http: HttpClient, endpoint: str | None):
        self.http = http
        self.endpoint = endpoint

    async def send(self, message: Outbound) -> Outcome:
        if not self.endpoint:
            return Failed("the webhook method needs CLARION_WEBHOOK_ENDPOINT; set it and resend")
        outcome, _, _ = await self.http.post(
            self.endpoint,
            json_body=coder_webhook_body(message),
            headers={"X-Message-Id": message.message_id},
            provider="webhook endpoint",
        )
        return outcome
