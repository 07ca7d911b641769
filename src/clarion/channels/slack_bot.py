"""The ``slack_bot`` channel kind and the ``slack`` user method: Slack's Web API with a bot token.

``chat.postMessage`` with the same Block Kit as the webhook kind (header, section, buttons),
to a channel, or as a direct message to a person found by ``users.lookupByEmail`` (the
recipient user's address for the method; a configured address for a channel). Slack answers
HTTP 200 with ``{"ok": false, "error": …}`` for most failures, so the body decides.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, model_validator

from clarion.channels.registry import BaseUrlField, ChannelKind
from clarion.channels.slack import slack_payload
from clarion.delivery.http import HttpClient, json_answer
from clarion.delivery.outcome import Delivered, Failed, Outbound, Outcome, Retry, truncate

TEXT_LIMIT = 40_000
# Slack errors that heal on their own; every other ``error`` is permanent.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
USER_CACHE_SECONDS = 3600.0


class SlackBotConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot_token: str = Field(min_length=1, description="bot token, xoxb-…")
    channel: str = Field("", description="channel ID (C…) to post to")
    email: str = Field("", description="or: the email of a person to message directly")
    api_url: BaseUrlField = Field("https://slack.com/api", description="Slack Web API base URL")
    max_per_second: float = Field(1.0, gt=0, le=50, description="Slack: ~1 message/s/channel")

    @model_validator(mode="after")
    def _target(self) -> SlackBotConfig:
        if not self.channel and not self.email:
            raise ValueError("set channel (a channel ID) or email (a person to message)")
        return self


def slack_api_outcome(outcome: Outcome, text: str, what: str) -> tuple[Outcome, dict[str, Any]]:
    """Classify a Web API answer by its body: (outcome, parsed body)."""
    if not isinstance(outcome, Delivered):
        return outcome, {}
    body = json_answer(text)
    if body is None:
        return Retry(f"Slack {what} answered with a body that is not a JSON object"), {}
    if body.get("ok") is True:
        return outcome, body
    error = str(body.get("error", "unknown_error"))
    reason = f"Slack {what} failed: {error}"
    if body.get("needed"):
        reason += f" (needs scope {body['needed']}, token has {body.get('provided', '')})"
    return (Retry(reason) if error in TRANSIENT_ERRORS else Failed(reason)), body


class SlackBotSender:
    def __init__(
        self, http: HttpClient, token: str, *, api_url: str, channel: str = "", email: str = ""
    ):
        self.http = http
        self.api_url = api_url.rstrip("/")
        self.channel = channel
        self.email = email
        self.token = token
        self._auth = {"Authorization": f"Bearer {token}"}
        self._users: dict[str, tuple[float, str]] = {}

    async def _user_id(self, email: str) -> tuple[str, Outcome | None]:
        cached = self._users.get(email.lower())
        if cached and cached[0] > time.monotonic():
            return cached[1], None
        url = f"{self.api_url}/users.lookupByEmail?{urlencode({'email': email})}"
        outcome, _, text = await self.http.request("GET", url, headers=self._auth, provider="Slack")
        outcome, body = slack_api_outcome(outcome, text, "users.lookupByEmail")
        if not isinstance(outcome, Delivered):
            if body.get("error") == "users_not_found":
                outcome = Failed(f"no Slack user has the email {email}")
            return "", outcome
        user_id = str(body["user"]["id"])
        self._users[email.lower()] = (time.monotonic() + USER_CACHE_SECONDS, user_id)
        return user_id, None

    async def send(self, message: Outbound) -> Outcome:
        if not self.token:
            return Failed("the slack method needs CLARION_SLACK_BOT_TOKEN; set it and resend")
        target = self.channel
        if not target:
            email = self.email or message.recipient.email
            if not email:
                return Failed("the recipient has no email address to find them on Slack")
            target, failure = await self._user_id(email)
            if failure is not None:
                return failure
        payload = slack_payload(message, target)
        payload["text"] = truncate(payload["text"], TEXT_LIMIT)
        payload["unfurl_links"] = False
        outcome, _, text = await self.http.post(
            f"{self.api_url}/chat.postMessage",
            json_body=payload,
            headers={**self._auth, "Content-Type": "application/json; charset=utf-8"},
            provider="Slack",
        )
        return slack_api_outcome(outcome, text, "chat.postMessage")[0]


KIND = ChannelKind(
    kind="slack_bot",
    title="Slack (bot)",
    config_model=SlackBotConfig,
    secret_fields=frozenset({"bot_token"}),
    build=lambda config, deps: SlackBotSender(
        deps.http,
        config.bot_token,
        api_url=config.api_url,
        channel=config.channel,
        email=config.email,
    ),
    description="Post as a Slack app: to a channel, or directly to a person by email.",
    min_interval=lambda config: 1.0 / config.max_per_second,
)
