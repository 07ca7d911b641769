"""The ``teams`` channel kind: a Microsoft Teams Workflows webhook posting an Adaptive Card.

The Workflows URL carries its credential in the ``sig`` query parameter. The flow answers
202 (some 200) when triggered; 400/401/403/404/413 are permanent, 429 and 5xx retry.
Teams renders a small Markdown subset in a TextBlock and no HTML, so the body is re-rendered
from Markdown with every character of user text that Teams would read as markup escaped.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clarion.channels.registry import ChannelKind, HttpUrlField
from clarion.delivery.http import HttpClient
from clarion.delivery.outcome import Outbound, Outcome, fit_json, json_bytes, truncate
from clarion.render.markdown import Flavor, markdown_in_flavor

PAYLOAD_BYTES = 27_000  # Teams refuses about 28 KB; keep a margin
TITLE_LIMIT = 250
MAX_ACTIONS = 6
CARD = "application/vnd.microsoft.card.adaptive"

_SPECIAL = re.compile(r"([\\`*_\[\]()])")
# At a line start these make a heading, quote or list item.
_LINE_START = re.compile(r"(?m)^([ \t]*)([-+#>]|\d+(?=\.))")


def _line_start(match: re.Match[str]) -> str:
    indent, marker = match[1], match[2]
    return f"{indent}{marker}\\" if marker[0].isdigit() else f"{indent}\\{marker}"


def teams_escape(text: str) -> str:
    """Backslash-escape what Teams reads as Markdown; HTML is not rendered, so ``<`` is text.

    ``{{`` is broken with a zero-width space: Adaptive Cards format ``{{DATE(…)}}`` in text.
    """
    text = _LINE_START.sub(_line_start, _SPECIAL.sub(r"\\\1", text))
    return text.replace("{{", "{\u200b{")


# No code spans or blocks in Teams: code is shown as escaped text, so it cannot carry markup.
TEAMS = Flavor(
    escape=teams_escape,
    strong="**",
    em="_",
    strike="",
    link=lambda label, url: f"[{label}]({url.replace('(', '%28').replace(')', '%29')})",
    code=teams_escape,
    code_block=teams_escape,
    heading=lambda t: f"**{t}**",
)


class TeamsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: HttpUrlField = Field(
        description="the Workflows URL: https://….logic.azure.com/workflows/…/invoke?…&sig=…"
    )


def teams_payload(message: Outbound) -> dict[str, Any]:
    content = message.content
    body_block: dict[str, Any] = {"type": "TextBlock", "text": "", "wrap": True}
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": teams_escape(truncate(content.title, TITLE_LIMIT)),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            body_block,
        ],
        "actions": [
            {"type": "Action.OpenUrl", "title": a.label, "url": a.url}
            for a in content.actions[:MAX_ACTIONS]
        ],
        "msteams": {"width": "Full"},
    }
    payload = {
        "type": "message",
        "attachments": [{"contentType": CARD, "contentUrl": None, "content": card}],
    }
    body = markdown_in_flavor(content.body_markdown, TEAMS)
    body_block["text"] = fit_json(body, PAYLOAD_BYTES - json_bytes(payload) + 2)
    if not body_block["text"]:
        card["body"].remove(body_block)
    return payload


class TeamsSender:
    def __init__(self, config: TeamsConfig, http: HttpClient):
        self.config = config
        self.http = http

    async def send(self, message: Outbound) -> Outcome:
        outcome, _, _ = await self.http.post(
            self.config.webhook_url, json_body=teams_payload(message), provider="Teams"
        )
        return outcome


KIND = ChannelKind(
    kind="teams",
    title="Microsoft Teams (Workflows webhook)",
    config_model=TeamsConfig,
    secret_fields=frozenset({"webhook_url"}),
    build=lambda config, deps: TeamsSender(config, deps.http),
    description="Post an Adaptive Card to a Teams channel through a Workflows webhook URL.",
    min_interval=lambda config: 0.25,  # more than 4 requests a second are throttled
)
