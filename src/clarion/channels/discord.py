"""The ``discord`` channel kind: a Discord webhook, one embed per message, no pings.

Posted with ``wait=true`` so Discord confirms the message was saved. 429 answers carry
``Retry-After`` (and ``retry_after`` in the JSON body, seconds); errors are JSON
``{"code", "message"}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clarion.channels.registry import ChannelKind, HttpUrlField
from clarion.delivery.http import HttpClient, answer_seconds, json_answer
from clarion.delivery.outcome import Outbound, Outcome, Retry, truncate
from clarion.render import markdown_to_discord

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
RED, GREEN, BLURPLE = 0xED4245, 0x57F287, 0x5865F2


class DiscordConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: HttpUrlField = Field(description="https://discord.com/api/webhooks/{id}/{token}")
    username: str = Field("", max_length=80, description="name shown for the webhook")


def _color(event_type: str) -> int:
    if event_type.endswith(("_failed", "_exceeded", "_out_of_memory", "_out_of_disk")):
        return RED
    if event_type.endswith(("_succeeded", "_completed")):
        return GREEN
    return BLURPLE


def discord_payload(message: Outbound, username: str = "") -> dict[str, Any]:
    content = message.content
    description = markdown_to_discord(content.body_markdown)
    links = " · ".join(f"[{a.label}]({a.url})" for a in content.actions)
    if links:
        # Keep the links whole: cut the body, not them.
        room = DESCRIPTION_LIMIT - len(links) - 2
        description = truncate(description, max(room, 0)) + "\n\n" + links
    embed: dict[str, Any] = {
        "title": truncate(content.title, TITLE_LIMIT),
        "description": truncate(description, DESCRIPTION_LIMIT),
        "color": _color(message.event_type),
        "timestamp": datetime.now(UTC).isoformat(),
        "footer": {"text": message.template_name or "Clarion"},
    }
    if content.actions:
        embed["url"] = content.actions[0].url
    payload: dict[str, Any] = {"embeds": [embed], "allowed_mentions": {"parse": []}}
    if username:
        payload["username"] = username
    return payload


class DiscordWebhookSender:
    def __init__(self, config: DiscordConfig, http: HttpClient):
        self.config = config
        self.http = http

    async def send(self, message: Outbound) -> Outcome:
        separator = "&" if "?" in self.config.webhook_url else "?"
        outcome, status, text = await self.http.post(
            f"{self.config.webhook_url}{separator}wait=true",
            json_body=discord_payload(message, self.config.username),
            provider="Discord",
        )
        if isinstance(outcome, Retry) and status == 429 and outcome.after is None:
            after = answer_seconds((json_answer(text) or {}).get("retry_after"))
            if after is not None:
                return Retry(outcome.reason, after=after)
        return outcome


KIND = ChannelKind(
    kind="discord",
    title="Discord (webhook)",
    config_model=DiscordConfig,
    secret_fields=frozenset({"webhook_url"}),
    build=lambda config, deps: DiscordWebhookSender(config, deps.http),
    description="Post an embed to a Discord channel through a webhook URL.",
)
