"""Local imitations of Mattermost, Gotify and ntfy that check what the real servers check.

Mattermost ``/hooks/<key>``: unknown key → 400 JSON error; ``text`` required; 200 ``ok``.
Gotify ``POST /message``: ``X-Gotify-Key`` must be the app token (401 JSON error);
``message`` required (400); 200 with the stored message.
ntfy ``POST /`` JSON: ``topic`` required; a protected topic needs ``Bearer <token>``
(403, code 40301); message over 4,096 bytes → 413; 200 with the message.
Each can be told to answer the next N requests with 429 or 503.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any

from tests.fakes.sink import HttpSink, Received, Reply


def _json(status: int, body: dict[str, Any]) -> Reply:
    return Reply(status, json.dumps(body), {"Content-Type": "application/json"})


class _Fake(HttpSink, ABC):
    def __init__(self) -> None:
        super().__init__()
        self.failing: list[Reply] = []
        self.responder = self._first

    def _first(self, n: int, r: Received) -> Reply:
        if self.failing:
            return self.failing.pop(0)
        return self.respond(r)

    @abstractmethod
    def respond(self, r: Received) -> Reply:
        """The provider's answer to a request that is not scripted to fail."""


class FakeMattermost(_Fake):
    KEY = "xkq3hj8c1pbyxbwjzi1z8r4b5c"

    def respond(self, r: Received) -> Reply:
        if r.path != f"/hooks/{self.KEY}":
            return _json(
                400,
                {
                    "id": "web.incoming_webhook.invalid.app_error",
                    "message": "Invalid webhook.",
                    "status_code": 400,
                },
            )
        body = json.loads(r.body)
        if not body.get("text") and not body.get("attachments"):
            return _json(
                400,
                {
                    "id": "web.incoming_webhook.text.app_error",
                    "message": "No text specified.",
                    "status_code": 400,
                },
            )
        return Reply(200, "ok", {"Content-Type": "text/plain"})


class FakeGotify(_Fake):
    TOKEN = "AvKcy9o-yvVhyKd"

    def respond(self, r: Received) -> Reply:
        if r.path != "/message":
            return _json(404, {"error": "Not Found", "errorCode": 404})
        if r.headers.get("X-Gotify-Key") != self.TOKEN:
            return _json(
                401,
                {
                    "error": "Unauthorized",
                    "errorCode": 401,
                    "errorDescription": "you need to provide a valid access token",
                },
            )
        body = json.loads(r.body)
        if not body.get("message"):
            return _json(
                400,
                {
                    "error": "Bad Request",
                    "errorCode": 400,
                    "errorDescription": "Field 'message' is required",
                },
            )
        return _json(200, {"id": 1, "appid": 1, "date": "2026-11-23T07:00:00Z", **body})


class FakeNtfy(_Fake):
    TOKEN = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
    PROTECTED = "ops-alerts"

    def respond(self, r: Received) -> Reply:
        body = json.loads(r.body)
        if r.path != "/" or not body.get("topic"):
            return _json(400, {"code": 40001, "http": 400, "error": "invalid request"})
        if (
            body["topic"] == self.PROTECTED
            and r.headers.get("Authorization") != f"Bearer {self.TOKEN}"
        ):
            return _json(403, {"code": 40301, "http": 403, "error": "forbidden"})
        if len(body.get("message", "").encode()) > 4096:
            return _json(413, {"code": 41301, "http": 413, "error": "message too large"})
        return _json(200, {"id": "sPs71M8A2T", "event": "message", "topic": body["topic"]})


class FakeTelegram(_Fake):
    """Bot API: ``/bot<token>/sendMessage``; checks the token, chat, HTML entities, length."""

    TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    CHATS = {"-1001234567890"}
    ALLOWED = {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "span",
    }

    def respond(self, r: Received) -> Reply:
        import re

        if r.path != f"/bot{self.TOKEN}/sendMessage":
            return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        body = json.loads(r.body)
        if str(body.get("chat_id")) not in self.CHATS:
            return _json(
                400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            )
        text = body.get("text", "")
        if body.get("parse_mode") == "HTML":
            tags = re.findall(r"</?([a-zA-Z-]+)", text)
            entities = re.findall(r"&([a-zA-Z]+);", text)
            if any(t not in self.ALLOWED for t in tags) or any(
                e not in ("lt", "gt", "amp", "quot") for e in entities
            ):
                return _json(
                    400,
                    {
                        "ok": False,
                        "error_code": 400,
                        "description": "Bad Request: can't parse entities: unsupported tag",
                    },
                )
        if not text or len(text) > 4096:
            return _json(
                400,
                {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"},
            )
        return _json(200, {"ok": True, "result": {"message_id": 7, "text": text}})
