"""The ``ntfy`` channel kind: JSON publishing to an ntfy server (plain text, view actions).

JSON publishing keeps non-ASCII titles intact (headers must be Latin-1). The body is cut to
ntfy's default 4,096-byte message limit.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clarion.channels.registry import BaseUrlField, ChannelKind
from clarion.delivery.http import HttpClient
from clarion.delivery.outcome import Outbound, Outcome

MESSAGE_BYTES = 4096
MAX_ACTIONS = 3


class NtfyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    server_url: BaseUrlField = Field("https://ntfy.sh", description="the ntfy server")
    topic: str = Field(min_length=1, max_length=64, pattern=r"^[-_A-Za-z0-9]+$")
    access_token: str = Field("", description="tk_… access token, if the topic needs one")
    priority: int = Field(3, ge=1, le=5, description="1 min … 3 default … 5 urgent")


def _cut_bytes(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore").rstrip() + "…"


def ntfy_payload(message: Outbound, config: NtfyConfig) -> dict[str, Any]:
    content = message.content
    payload: dict[str, Any] = {
        "topic": config.topic,
        "title": content.title,
        "message": _cut_bytes(content.body_text, MESSAGE_BYTES),
        "priority": config.priority,
    }
    if content.actions:
        payload["click"] = content.actions[0].url
        payload["actions"] = [
            {"action": "view", "label": a.label, "url": a.url, "clear": True}
            for a in content.actions[:MAX_ACTIONS]
        ]
    return payload


class NtfySender:
    def __init__(self, config: NtfyConfig, http: HttpClient):
        self.config = config
        self.http = http

    async def send(self, message: Outbound) -> Outcome:
        headers = {}
        if self.config.access_token:
            headers["Authorization"] = f"Bearer {self.config.access_token}"
        outcome, _, _ = await self.http.post(
            f"{self.config.server_url}/",
            json_body=ntfy_payload(message, self.config),
            headers=headers,
            provider="ntfy",
        )
        return outcome


KIND = ChannelKind(
    kind="ntfy",
    title="ntfy",
    config_model=NtfyConfig,
    secret_fields=frozenset({"access_token"}),
    build=lambda config, deps: NtfySender(config, deps.http),
    description="Publish to an ntfy topic.",
)
