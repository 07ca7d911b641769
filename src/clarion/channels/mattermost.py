"""The ``mattermost`` channel kind: a Mattermost incoming webhook, Markdown text.

Mattermost answers 200 ``ok``; errors are JSON with a ``message``. Mentions in the text are
broken with a zero-width space so user text cannot ping ``@channel``/``@all``/``@here``; link
targets, URLs and email addresses are left whole, so links keep working.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clarion.channels.registry import ChannelKind, HttpUrlField
from clarion.delivery.http import HttpClient
from clarion.delivery.outcome import Outbound, Outcome, truncate

TEXT_LIMIT = 4000  # older servers' post limit; current ones allow 16383

# Spans where an "@" is not a mention: Markdown link targets, <autolinks> and bare URLs.
_NOT_TEXT = re.compile(r"(\]\([^)\s]*\)|<[^>\s]+>|https?://[^\s)>\]]+)")
# An "@" that starts a mention: not inside a word or an email address.
_MENTION = re.compile(r"(?<![\w.+\-%/])@(?=\w)")


def defuse_mentions(text: str) -> str:
    """Put a zero-width space after each mention's "@", outside links, URLs and addresses."""
    parts = _NOT_TEXT.split(text)
    parts[::2] = [_MENTION.sub("@\u200b", part) for part in parts[::2]]
    return "".join(parts)


class MattermostConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: HttpUrlField = Field(description="https://{host}/hooks/{key}")
    channel: str = Field("", description="channel name to post in (if the hook allows it)")
    username: str = Field("", description="display name (if the server allows overrides)")


def mattermost_payload(message: Outbound, config: MattermostConfig) -> dict[str, Any]:
    content = message.content
    links = " · ".join(f"[{a.label}]({a.url})" for a in content.actions)
    text = f"#### {content.title_markdown}\n\n{content.body_markdown}"
    text = truncate(text, TEXT_LIMIT - len(links) - 2) + (f"\n\n{links}" if links else "")
    payload: dict[str, Any] = {"text": defuse_mentions(text)}
    if config.channel:
        payload["channel"] = config.channel.lstrip("#")
    if config.username:
        payload["username"] = config.username
    return payload


class MattermostSender:
    def __init__(self, config: MattermostConfig, http: HttpClient):
        self.config = config
        self.http = http

    async def send(self, message: Outbound) -> Outcome:
        outcome, _, _ = await self.http.post(
            self.config.webhook_url,
            json_body=mattermost_payload(message, self.config),
            provider="Mattermost",
            success_body="ok",
        )
        return outcome


KIND = ChannelKind(
    kind="mattermost",
    title="Mattermost (incoming webhook)",
    config_model=MattermostConfig,
    secret_fields=frozenset({"webhook_url"}),
    build=lambda config, deps: MattermostSender(config, deps.http),
    description="Post Markdown to a Mattermost channel through an incoming webhook.",
)
