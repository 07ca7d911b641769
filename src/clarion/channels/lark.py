"""The ``lark`` channel kind: a Lark / Feishu custom bot webhook posting an interactive card.

Lark answers HTTP 200 with ``{"code": 0, "msg": "success"}`` (older bots:
``{"StatusCode": 0}``); any other ``code`` is a failure even with HTTP 200: 11232 (frequency
limited) retries, the rest (19021 bad signature, 19024 keyword mismatch, 9499 bad request,
19001 unknown token, …) are permanent. A bot with signing on needs ``timestamp`` and
``sign``: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", message=b"")).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clarion.channels.registry import ChannelKind, HttpUrlField
from clarion.delivery.http import HttpClient, json_answer
from clarion.delivery.outcome import (
    Delivered,
    Failed,
    Outbound,
    Outcome,
    Retry,
    fit_json,
    json_bytes,
    trim,
    truncate,
)
from clarion.render.markdown import Flavor, markdown_in_flavor

REQUEST_BYTES = 19_500  # Lark refuses request bodies over 20 KB
TITLE_LIMIT = 200
MAX_BUTTONS = 5
FREQUENCY_LIMITED = 11232

_SPECIAL = re.compile(r"([\\`*_~\[\]()#])")


def _entities(text: str) -> str:
    # Tags (<at id=all>, <font>, <link>) are markup in Lark Markdown, even inside code.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def lark_escape(text: str) -> str:
    return _entities(_SPECIAL.sub(r"\\\1", text))


def _code(text: str, fence: str) -> str:
    return _entities(text.replace(fence, "\u02cb" * len(fence)))


LARK = Flavor(
    escape=lark_escape,
    strong="**",
    em="*",
    strike="~~",
    link=lambda label, url: f"[{label}]({url.replace(')', '%29')})",
    code=lambda c: f"`{_code(c, '`')}`",
    code_block=lambda c: f"```\n{_code(c, '```')}\n```",
    heading=lambda t: f"**{t}**",
)


class LarkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: HttpUrlField = Field(
        description="https://open.larksuite.com/open-apis/bot/v2/hook/…"
    )
    secret: str = Field("", description="the bot's signing secret, if signature check is on")
    max_per_second: float = Field(5.0, gt=0, le=5, description="Lark allows 5 a second per bot")


def lark_sign(secret: str, timestamp: int) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def _template(event_type: str) -> str:
    if event_type.endswith(("_failed", "_exceeded", "_out_of_memory", "_out_of_disk")):
        return "red"
    if event_type.endswith(("_succeeded", "_completed")):
        return "green"
    return "blue"


def lark_payload(message: Outbound, secret: str = "", now: float | None = None) -> dict[str, Any]:
    content = message.content
    body: dict[str, Any] = {"tag": "markdown", "content": ""}
    buttons = [
        {
            "tag": "button",
            "text": {"tag": "plain_text", "content": a.label},
            "type": "primary" if number == 0 else "default",
            "behaviors": [{"type": "open_url", "default_url": a.url}],
        }
        for number, a in enumerate(content.actions[:MAX_BUTTONS])
    ]
    payload: dict[str, Any] = {}
    if secret:
        timestamp = int(time.time() if now is None else now)
        payload = {"timestamp": str(timestamp), "sign": lark_sign(secret, timestamp)}
    payload["msg_type"] = "interactive"
    payload["card"] = {
        "schema": "2.0",
        "header": {
            "title": {"tag": "plain_text", "content": truncate(content.title, TITLE_LIMIT)},
            "template": _template(message.event_type),
        },
        "body": {"elements": [body, *buttons]},
    }
    text = markdown_in_flavor(content.body_markdown, LARK)
    # Room for a fence closed after the cut.
    text = fit_json(text, REQUEST_BYTES - json_bytes(payload) + 2 - 8)
    if text.count("```") % 2:
        text += "\n```"
    body["content"] = text
    return payload


class LarkSender:
    def __init__(self, config: LarkConfig, http: HttpClient):
        self.config = config
        self.http = http

    async def send(self, message: Outbound) -> Outcome:
        outcome, status, text = await self.http.post(
            self.config.webhook_url,
            json_body=lark_payload(message, self.config.secret),
            provider="Lark",
        )
        answer = json_answer(text) or {}
        code = answer.get("code", answer.get("StatusCode"))
        said = answer.get("msg", answer.get("StatusMessage", ""))
        why = f"Lark answered code {code}: {trim(str(said))}"
        if code == FREQUENCY_LIMITED:
            return Retry(why)
        if isinstance(outcome, Retry) or (code == 0 and isinstance(outcome, Delivered)):
            return outcome
        if code in (None, 0):
            if isinstance(outcome, Failed):
                return outcome
            body = trim(text) or "no body"
            return Failed(f"Lark answered HTTP {status} without a result code: {body}")
        return Failed(why)


KIND = ChannelKind(
    kind="lark",
    title="Lark / Feishu (custom bot webhook)",
    config_model=LarkConfig,
    secret_fields=frozenset({"webhook_url", "secret"}),
    build=lambda config, deps: LarkSender(config, deps.http),
    description="Post an interactive card to a Lark or Feishu group through a custom bot.",
    min_interval=lambda config: 1.0 / config.max_per_second,
)
