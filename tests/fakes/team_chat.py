"""Local imitations of Teams Workflows, Lark custom bots and Pushover that check what they check.

Teams ``/workflows/<id>/triggers/manual/paths/invoke?…&sig=<sig>``: no or wrong ``sig`` →
401 ``DirectApiAuthorizationRequired`` / ``DirectApiInvalidAuthorizationSignature``; not
JSON → 400 ``InvalidRequestContent``; over 28,000 bytes → 413; not a message with an
Adaptive Card → 400 ``TriggerInputSchemaMismatch``; accepted → 202 with no body.
Lark ``/open-apis/bot/v2/hook/<token>``: always JSON ``{"code", "msg", "data"}``, mostly
with HTTP 200: unknown token 19001, bad or stale signature 19021 (when the bot has a
secret), body over 20 KB or no ``msg_type`` 9499; success ``code`` 0. Mentions found in
card Markdown are recorded in ``mentions``.
Pushover ``POST /1/messages.json`` (form or JSON): token, user, message and limits checked
as Pushover does, 400 ``{"status": 0, "errors": [...]}``; success 200 ``{"status": 1}``.
Each answers the scripted ``failing`` replies first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.push import _Fake, _json
from tests.fakes.sink import Received, Reply


def _azure_error(status: int, code: str, message: str) -> Reply:
    return _json(status, {"error": {"code": code, "message": message}})


class FakeTeams(_Fake):
    ID, SIG = "8f3c2a9e0b7d4c1f", "Xq3vN8kP2mR5tW9zB4yC7dF1gH6jK0lM"
    LIMIT = 28_000
    CARD = "application/vnd.microsoft.card.adaptive"

    def url_with(self, sig: str) -> str:
        return (
            f"{self.url}/workflows/{self.ID}/triggers/manual/paths/invoke"
            f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}"
        )

    @property
    def webhook_url(self) -> str:
        return self.url_with(self.SIG)

    def respond(self, r: Received) -> Reply:
        path, _, query = r.path.partition("?")
        if path != f"/workflows/{self.ID}/triggers/manual/paths/invoke":
            return _azure_error(404, "WorkflowNotFound", "The workflow could not be found.")
        sig = parse_qs(query).get("sig", [""])[0]
        if sig != self.SIG:
            code, why = (
                ("DirectApiInvalidAuthorizationSignature", "The provided signature is not valid.")
                if sig
                else ("DirectApiAuthorizationRequired", "The request must be authenticated.")
            )
            return _azure_error(401, code, why)
        if len(r.body) > self.LIMIT:
            return _azure_error(413, "MessageTooLarge", "The request entity is too large.")
        kind = r.headers.get("Content-Type", "")
        try:
            body = json.loads(r.body) if kind.startswith("application/json") else None
        except ValueError:
            body = None
        if body is None:
            return _azure_error(
                400,
                "InvalidRequestContent",
                "The input body for trigger 'manual' of type 'Request' must be of type JSON.",
            )
        problem = self._card_problem(body)
        if problem:
            why = f"The input body for trigger 'manual' did not match its schema: {problem}."
            return _azure_error(400, "TriggerInputSchemaMismatch", why)
        return Reply(202)

    def _card_problem(self, body: Any) -> str:
        if not isinstance(body, dict) or body.get("type") != "message":
            return "type must be 'message'"
        attachments = body.get("attachments")
        if not isinstance(attachments, list) or not attachments:
            return "attachments is required"
        first = attachments[0]
        card = first.get("content") if isinstance(first, dict) else None
        if first.get("contentType") != self.CARD or not isinstance(card, dict):
            return f"attachments[0].contentType must be '{self.CARD}'"
        if card.get("type") != "AdaptiveCard" or not card.get("version"):
            return "the card needs type 'AdaptiveCard' and a version"
        for element in card.get("body", []):
            if element.get("type") == "TextBlock" and not isinstance(element.get("text"), str):
                return "a TextBlock needs text"
        for action in card.get("actions", []):
            if action.get("type") == "Action.OpenUrl" and not action.get("url"):
                return "Action.OpenUrl needs a url"
        return ""


class FakeLark(_Fake):
    TOKEN = "0f9a6c2e-4b1d-4e7a-9c3f-5d8b2a1e6f40"
    LIMIT = 20 * 1024
    _MENTION = re.compile(r"<at\b[^>]*>", re.IGNORECASE)

    def __init__(self, secret: str = "") -> None:
        super().__init__()
        self.secret = secret
        self.mentions: list[str] = []

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/open-apis/bot/v2/hook/{self.TOKEN}"

    @staticmethod
    def answer(code: int, msg: str) -> Reply:
        return _json(200, {"code": code, "msg": msg, "data": {}})

    def frequency_limited(self) -> Reply:
        return self.answer(11232, "frequency limited psm[lark.oapi.app_platform_runtime]")

    def respond(self, r: Received) -> Reply:
        if r.path != f"/open-apis/bot/v2/hook/{self.TOKEN}":
            return self.answer(19001, "param invalid: incoming webhook access token invalid")
        if len(r.body) > self.LIMIT:
            return self.answer(9499, "Bad Request")
        try:
            body = json.loads(r.body)
        except ValueError:
            return self.answer(9499, "Bad Request")
        if not isinstance(body, dict) or not body.get("msg_type"):
            return self.answer(9499, "Bad Request")
        if self.secret and not self._signed(body):
            return self.answer(
                19021, "sign match fail or timestamp is not within one hour from current time"
            )
        for element in body.get("card", {}).get("body", {}).get("elements", []):
            if element.get("tag") == "markdown":
                self.mentions += self._MENTION.findall(element.get("content", ""))
        return self.answer(0, "success")

    def _signed(self, body: dict[str, Any]) -> bool:
        timestamp = str(body.get("timestamp", ""))
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 3600:
            return False
        key = f"{timestamp}\n{self.secret}".encode()
        expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, str(body.get("sign", "")))


class FakePushover(_Fake):
    TOKEN = "azGDORePK8gMaC0QOYAMyEEuzJnyUi"
    USER = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"
    LIMITS = {"message": 1024, "title": 250, "url": 512, "url_title": 100}

    def _error(self, message: str, **extra: str) -> Reply:
        body = {**extra, "errors": [message], "status": 0, "request": str(uuid.uuid4())}
        return _json(400, body)

    def respond(self, r: Received) -> Reply:
        if r.path != "/1/messages.json":
            return _json(404, {"errors": ["not found"], "status": 0})
        if r.headers.get("Content-Type", "").startswith("application/json"):
            fields = {k: str(v) for k, v in json.loads(r.body).items()}
        else:
            form = parse_qs(r.body.decode(), keep_blank_values=True)
            fields = {k: v[0] for k, v in form.items()}
        if fields.get("token") != self.TOKEN:
            return self._error("application token is invalid", token="invalid")
        if fields.get("user") != self.USER:
            return self._error(
                "user identifier is not a valid user, group, or subscribed user key, "
                "see https://pushover.net/api#identifiers",
                user="invalid",
            )
        if not fields.get("message", "").strip():
            return self._error("message cannot be blank", message="invalid")
        for name, limit in self.LIMITS.items():
            if len(fields.get(name, "")) > limit:
                label = name.replace("_", " ")
                return self._error(f"{label} is too long", **{name: "invalid"})
        priority = int(fields.get("priority", "0") or 0)
        if priority not in range(-2, 3):
            return self._error("priority is invalid", priority="invalid")
        receipt = {}
        if priority == 2:
            if int(fields.get("retry") or 0) < 30:
                return self._error("retry is invalid, must be at least 30", retry="invalid")
            if not 0 < int(fields.get("expire") or 0) <= 10800:
                return self._error("expire must be at most 10800", expire="invalid")
            receipt = {"receipt": "rLqVuqTRh62UzxtmqiaLzQmVcPgiCy"}
        return _json(200, {"status": 1, "request": str(uuid.uuid4()), **receipt})

    def form(self, index: int = 0) -> dict[str, str]:
        """The fields of the ``index``-th request, as Pushover reads them."""
        form = parse_qs(self.received[index].body.decode(), keep_blank_values=True)
        return {k: v[0] for k, v in form.items()}
