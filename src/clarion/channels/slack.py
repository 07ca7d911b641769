"""The ``slack`` channel kind: a Slack incoming webhook, Block Kit with a text fallback.

Slack answers 200 with the literal body ``ok``; anything else is a failure whose body names
it (``invalid_payload``, ``no_service``, …). 429 carries ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clarion.channels.registry import ChannelKind, HttpUrlField
from clarion.delivery.http import HttpClient
from clarion.delivery.outcome import Outbound, Outcome, truncate
from clarion.render import markdown_to_slack
from clarion.render.markdown import escape_slack

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
BUTTON_LABEL_LIMIT = 75
MAX_BUTTONS = 5


class SlackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: HttpUrlField = Field(description="https://hooks.slack.com/services/T…/B…/…")
    channel: str = Field("", description="override channel (legacy webhooks only)")
    max_per_second: float = Field(
        1.0, gt=0, le=50, description="Slack allows about one message a second per webhook"
    )


def slack_payload(message: Outbound, channel: str = "") -> dict[str, Any]:
    content = message.content
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": truncate(content.title, HEADER_LIMIT)},
        },
    ]
    body = markdown_to_slack(content.body_markdown)
    if body:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(body, SECTION_LIMIT)}}
        )
    if content.actions:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {
                            "type": "plain_text",
                            "text": truncate(a.label, BUTTON_LABEL_LIMIT),
                        },
                        "url": a.url,
                        # A click comes back to the interactivity URL with this value: the
                        # message it belongs to.
                        "value": message.message_id,
                        "action_id": f"clarion-action-{i}",
                    }
                    for i, a in enumerate(content.actions[:MAX_BUTTONS])
                ],
            }
        )
    # Slack reads <!channel>, <@U…> and links in the top-level text as it does in mrkdwn.
    text = escape_slack(truncate(content.title, SECTION_LIMIT))
    payload: dict[str, Any] = {"text": text, "blocks": blocks}
    if channel:
        payload["channel"] = channel
    return payload


class SlackWebhookSender:
    def __init__(self, config: SlackConfig, http: HttpClient):
        self.config = config
        self.http = http

    async def send(self, message: Outbound) -> Outcome:
        outcome, _, _ = await self.http.post(
            self.config.webhook_url,
            json_body=slack_payload(message, self.config.channel),
            provider="Slack",
            success_body="ok",  # a 2xx with anything else did not post the message
        )
        return outcome


KIND = ChannelKind(
    kind="slack",
    title="Slack (incoming webhook)",
    config_model=SlackConfig,
    secret_fields=frozenset({"webhook_url"}),
    build=lambda config, deps: SlackWebhookSender(config, deps.http),
    description="Post to a Slack channel through an incoming webhook URL.",
    min_interval=lambda config: 1.0 / config.max_per_second,
)
