"""The ``gotify`` channel kind: push to a self-hosted Gotify server (Markdown display)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clarion.channels.registry import BaseUrlField, ChannelKind
from clarion.delivery.http import HttpClient
from clarion.delivery.outcome import Outbound, Outcome


class GotifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    server_url: BaseUrlField = Field(description="e.g. https://gotify.example.com")
    app_token: str = Field(min_length=1, description="the application's token")
    priority: int = Field(5, ge=0, le=10, description="0 silent … 8+ heads-up")


def gotify_payload(message: Outbound, priority: int) -> dict[str, Any]:
    content = message.content
    links = "\n\n".join(f"[{a.label}]({a.url})" for a in content.actions)
    extras: dict[str, Any] = {"client::display": {"contentType": "text/markdown"}}
    if content.actions:
        extras["client::notification"] = {"click": {"url": content.actions[0].url}}
    return {
        "title": content.title,
        "message": content.body_markdown + (f"\n\n{links}" if links else ""),
        "priority": priority,
        "extras": extras,
    }


class GotifySender:
    def __init__(self, config: GotifyConfig, http: HttpClient):
        self.config = config
        self.http = http

    async def send(self, message: Outbound) -> Outcome:
        outcome, _, _ = await self.http.post(
            f"{self.config.server_url}/message",
            json_body=gotify_payload(message, self.config.priority),
            headers={"X-Gotify-Key": self.config.app_token},
            provider="Gotify",
        )
        return outcome


KIND = ChannelKind(
    kind="gotify",
    title="Gotify",
    config_model=GotifyConfig,
    secret_fields=frozenset({"app_token"}),
    build=lambda config, deps: GotifySender(config, deps.http),
    description="Push a notification to a Gotify server.",
)
