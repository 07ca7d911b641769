"""The ``telegram`` channel kind: Bot API ``sendMessage`` in HTML mode, with link buttons.

Telegram always answers JSON: ``{"ok": true, …}`` or ``{"ok": false, "error_code",
"description", "parameters": {"retry_after"}}``; 429 waits ``retry_after`` seconds.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clarion.channels.registry import BaseUrlField, ChannelKind
from clarion.delivery.http import HttpClient, answer_seconds, json_answer
from clarion.delivery.outcome import Failed, Outbound, Outcome, Retry, truncate
from clarion.render import markdown_to_telegram

TEXT_LIMIT = 4096
BUTTONS_PER_ROW = 2


class TelegramConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot_token: str = Field(
        pattern=r"^\d+:[A-Za-z0-9_-]+$", description="123456:ABC… from BotFather"
    )
    chat_id: str = Field(min_length=1, description="user or group id (-100…), or @channel")
    message_thread_id: int | None = Field(None, description="forum topic id")
    api_url: BaseUrlField = Field("https://api.telegram.org", description="Bot API server")


def telegram_payload(message: Outbound, config: TelegramConfig) -> dict[str, Any]:
    content = message.content
    title = f"<b>{markdown_to_telegram(content.title_markdown)}</b>"
    body = markdown_to_telegram(content.body_markdown)
    # Cut the plain body before it is marked up would be ideal; cutting the marked-up text
    # could split a tag, so an over-long body falls back to the plain text, cut.
    text = f"{title}\n\n{body}"
    if len(text) > TEXT_LIMIT:
        plain = content.body_text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        text = truncate(f"{title}\n\n{plain}", TEXT_LIMIT)
    payload: dict[str, Any] = {
        "chat_id": config.chat_id,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    if config.message_thread_id is not None:
        payload["message_thread_id"] = config.message_thread_id
    if content.actions:
        buttons = [{"text": a.label, "url": a.url} for a in content.actions]
        rows = [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]
        payload["reply_markup"] = {"inline_keyboard": rows}
    return payload


class TelegramSender:
    def __init__(self, config: TelegramConfig, http: HttpClient):
        self.config = config
        self.http = http

    async def send(self, message: Outbound) -> Outcome:
        outcome, status, text = await self.http.post(
            f"{self.config.api_url}/bot{self.config.bot_token}/sendMessage",
            json_body=telegram_payload(message, self.config),
            provider="Telegram",
        )
        answer = json_answer(text)
        if answer is None or answer.get("ok", True):
            return outcome
        reason = (
            f"Telegram answered {answer.get('error_code', status)}: {answer.get('description', '')}"
        )
        if isinstance(outcome, Retry):
            parameters = answer.get("parameters")
            retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
            return Retry(reason, after=answer_seconds(retry_after) or outcome.after)
        return Failed(reason)  # including ok:false under a 2xx: not delivered


KIND = ChannelKind(
    kind="telegram",
    title="Telegram (bot)",
    config_model=TelegramConfig,
    secret_fields=frozenset({"bot_token"}),
    build=lambda config, deps: TelegramSender(config, deps.http),
    description="Send to a Telegram chat, group or channel through a bot.",
)
