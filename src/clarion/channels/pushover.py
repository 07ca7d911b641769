"""The ``pushover`` channel kind: a form POST to Pushover's ``/1/messages.json``.

The message is plain text (no ``html`` flag), so user text can never become markup. Pushover
answers 200 ``{"status": 1}``; 4xx ``{"status": 0, "errors": [...]}`` must not be retried
(429 is the application's monthly quota); 5xx and network failures may be retried, but no
more often than once every 5 seconds.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from clarion.channels.registry import BaseUrlField, ChannelKind
from clarion.delivery.http import HttpClient, json_answer
from clarion.delivery.outcome import Delivered, Failed, Outbound, Outcome, Retry, trim, truncate

MESSAGE_LIMIT = 1024
TITLE_LIMIT = 250
URL_LIMIT = 512
URL_TITLE_LIMIT = 100
EMERGENCY = 2
RETRY_FLOOR = 5.0  # seconds between two attempts, at least


class PushoverConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_key: str = Field(min_length=1, description="the user or group key (u…/g…)")
    api_token: str = Field(min_length=1, description="the application's API token (a…)")
    priority: int = Field(0, ge=-2, le=2, description="-2 silent … 0 normal … 2 emergency")
    retry: int = Field(30, ge=30, le=10800, description="emergency only: seconds between re-alerts")
    expire: int = Field(3600, ge=1, le=10800, description="emergency only: seconds to re-alert")
    api_url: BaseUrlField = Field("https://api.pushover.net", description="the Pushover API server")


def pushover_payload(message: Outbound, config: PushoverConfig) -> dict[str, str]:
    content = message.content
    fields = {
        "token": config.api_token,
        "user": config.user_key,
        "title": truncate(content.title, TITLE_LIMIT),
        "message": truncate(content.body_text or content.title, MESSAGE_LIMIT),
        "priority": str(config.priority),
    }
    if config.priority == EMERGENCY:
        fields["retry"] = str(config.retry)
        fields["expire"] = str(config.expire)
    # A cut URL would lead somewhere else: one that is too long is left out.
    action = next((a for a in content.actions if len(a.url) <= URL_LIMIT), None)
    if action is not None:
        fields["url"] = action.url
        fields["url_title"] = truncate(action.label, URL_TITLE_LIMIT)
    return fields


def _errors(text: str) -> str:
    errors = (json_answer(text) or {}).get("errors")
    if isinstance(errors, list) and errors:
        return "; ".join(str(e) for e in errors)
    return trim(text) or "no body"


class PushoverSender:
    def __init__(self, config: PushoverConfig, http: HttpClient):
        self.config = config
        self.http = http

    async def send(self, message: Outbound) -> Outcome:
        outcome, status, text = await self.http.post(
            f"{self.config.api_url}/1/messages.json",
            data=pushover_payload(message, self.config),
            provider="Pushover",
        )
        if status is None or status >= 500:
            if isinstance(outcome, Retry):
                return Retry(outcome.reason, after=max(RETRY_FLOOR, outcome.after or 0.0))
            return outcome  # refused before sending
        if status == 429:
            return Failed(
                "Pushover answered HTTP 429: the application's monthly message quota is used "
                f"up ({_errors(text)})"
            )
        if isinstance(outcome, Delivered) and (json_answer(text) or {}).get("status") == 1:
            return outcome
        return Failed(f"Pushover answered HTTP {status}: {_errors(text)}")


KIND = ChannelKind(
    kind="pushover",
    title="Pushover",
    config_model=PushoverConfig,
    secret_fields=frozenset({"user_key", "api_token"}),
    build=lambda config, deps: PushoverSender(config, deps.http),
    description="Push a notification to a Pushover user or group.",
)
