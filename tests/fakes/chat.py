"""Local imitations of Slack's and Discord's webhook endpoints that check what they check.

Slack: ``/services/T…/B…/<secret>``; unknown secret → 404 ``no_service``; JSON only;
``text`` or ``blocks`` required (400 ``no_text``); ≤50 blocks, header ≤150, section text
≤3000 (400 ``invalid_blocks``); success is 200 with the body ``ok``.
Discord: ``/api/webhooks/<id>/<token>``; unknown → 404 ``{"code": 10015}``; an empty
message → 400 ``{"code": 50006}``; embed limits (title 256, description 4096, ≤10
embeds, 6000 characters in all) → 400 ``{"code": 50035}``; ``wait=true`` → 200 + message.
Either can be told to rate-limit the next N requests (429 with Retry-After).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tests.fakes.sink import HttpSink, Received, Reply


class _ChatFake(HttpSink):
    """Answers through ``_respond``; ``rate_limited`` makes the next N requests a 429."""

    def __init__(self) -> None:
        super().__init__()
        self.rate_limited = 0
        self.responder = self._respond

    def _respond(self, n: int, r: Received) -> Reply:
        raise AssertionError("subclasses answer requests")


class FakeSlack(_ChatFake):
    SECRET = "T0001/B0001/aB3dE5fG7hJ9kL1mN3pQ5rS7"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/services/{self.SECRET}"

    def _respond(self, n: int, r: Received) -> Reply:
        if (
            not r.path.startswith("/services/")
            or r.path.split("?")[0] != f"/services/{self.SECRET}"
        ):
            return Reply(404, "no_service")
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return Reply(429, "rate_limited", {"Retry-After": "1"})
        if not r.headers.get("Content-Type", "").startswith("application/json"):
            return Reply(400, "invalid_payload")
        try:
            body: dict[str, Any] = json.loads(r.body)
        except ValueError:
            return Reply(400, "invalid_payload")
        if not body.get("text") and not body.get("blocks"):
            return Reply(400, "no_text")
        blocks = body.get("blocks", [])
        if len(blocks) > 50:
            return Reply(400, "invalid_blocks")
        for block in blocks:
            limit = {"header": 150, "section": 3000}.get(block.get("type"), 10_000)
            if len(block.get("text", {}).get("text", "")) > limit:
                return Reply(400, "invalid_blocks")
        return Reply(200, "ok")


class FakeDiscord(_ChatFake):
    ID, TOKEN = "123456789012345678", "tok-en_XYZ"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/api/webhooks/{self.ID}/{self.TOKEN}"

    def _respond(self, n: int, r: Received) -> Reply:
        path, _, query = r.path.partition("?")
        if path != f"/api/webhooks/{self.ID}/{self.TOKEN}":
            return _json(404, {"message": "Unknown Webhook", "code": 10015})
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return Reply(
                429,
                json.dumps(
                    {"message": "You are being rate limited.", "retry_after": 1.5, "global": False}
                ),
                {"Content-Type": "application/json"},
            )  # no Retry-After: body only
        body: dict[str, Any] = json.loads(r.body)
        embeds = body.get("embeds", [])
        if not body.get("content") and not embeds:
            return _json(400, {"message": "Cannot send an empty message", "code": 50006})
        total = 0
        for embed in embeds:
            if len(embed.get("title", "")) > 256 or len(embed.get("description", "")) > 4096:
                return _json(400, {"message": "Invalid Form Body", "code": 50035})
            total += len(embed.get("title", "")) + len(embed.get("description", ""))
        if len(embeds) > 10 or total > 6000:
            return _json(400, {"message": "Invalid Form Body", "code": 50035})
        if "wait=true" in query:
            return _json(200, {"id": str(n), "channel_id": "1", **body})
        return Reply(204)


def _json(status: int, body: dict[str, Any]) -> Reply:
    return Reply(status, json.dumps(body), {"Content-Type": "application/json"})


class FakeSlackApi(_ChatFake):
    """Slack's Web API: ``users.lookupByEmail`` and ``chat.postMessage`` under ``/api``.

    Bearer token required (``not_authed`` / ``invalid_auth``, HTTP 200 as Slack does);
    ``missing_scope`` with ``needed``/``provided`` when the token lacks ``users:read.email``;
    ``channel`` must be a known channel or user ID (``channel_not_found``); ``text`` or
    ``blocks`` required (``no_text``); Block Kit limits (``invalid_blocks``); rate limit:
    HTTP 429 ``ratelimited`` with Retry-After.
    """

    TOKEN = "xoxb-1111-2222-aBcDeFgHiJkLmNoP"
    CHANNEL = "C0123ABCD"
    USERS = {"ann@example.com": "U0ANN0001", "bob@example.com": "U0BOB0002"}

    def __init__(self) -> None:
        super().__init__()
        self.scopes = {"chat:write", "users:read", "users:read.email"}
        self.lookups = 0

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def _respond(self, n: int, r: Received) -> Reply:
        path, _, query = r.path.partition("?")
        auth = r.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return _json(200, {"ok": False, "error": "not_authed"})
        if auth != f"Bearer {self.TOKEN}":
            return _json(200, {"ok": False, "error": "invalid_auth"})
        if path == "/api/users.lookupByEmail":
            return self._lookup(dict(p.split("=", 1) for p in query.split("&") if "=" in p))
        if path == "/api/chat.postMessage":
            return self._post(r)
        return _json(404, {"ok": False, "error": "unknown_method"})

    def _lookup(self, params: dict[str, str]) -> Reply:
        self.lookups += 1
        if "users:read.email" not in self.scopes:
            provided = ",".join(sorted(self.scopes))
            return _json(
                200,
                {
                    "ok": False,
                    "error": "missing_scope",
                    "needed": "users:read.email",
                    "provided": provided,
                },
            )
        user_id = self.USERS.get(unquote(params.get("email", "")).lower())
        if user_id is None:
            return _json(200, {"ok": False, "error": "users_not_found"})
        return _json(200, {"ok": True, "user": {"id": user_id, "team_id": "T0001"}})

    def _post(self, r: Received) -> Reply:
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return Reply(
                429,
                json.dumps({"ok": False, "error": "ratelimited"}),
                {"Content-Type": "application/json", "Retry-After": "1"},
            )
        if not r.headers.get("Content-Type", "").startswith("application/json"):
            return _json(200, {"ok": False, "error": "invalid_form_data"})
        body: dict[str, Any] = json.loads(r.body)
        channel = body.get("channel", "")
        if channel != self.CHANNEL and channel not in self.USERS.values():
            return _json(200, {"ok": False, "error": "channel_not_found"})
        blocks = body.get("blocks", [])
        if not body.get("text") and not blocks:
            return _json(200, {"ok": False, "error": "no_text"})
        if len(blocks) > 50 or len(body.get("text", "")) > 40_000:
            return _json(200, {"ok": False, "error": "msg_too_long"})
        for block in blocks:
            text = block.get("text", {})
            if block.get("type") == "header" and (
                text.get("type") != "plain_text" or len(text.get("text", "")) > 150
            ):
                return _json(200, {"ok": False, "error": "invalid_blocks"})
            if block.get("type") == "section" and len(text.get("text", "")) > 3000:
                return _json(200, {"ok": False, "error": "invalid_blocks"})
        ts = f"1700000000.{len(self.received):06d}"
        return _json(200, {"ok": True, "channel": channel, "ts": ts, "message": body})


__all__ = ["FakeDiscord", "FakeSlack", "FakeSlackApi", "web"]
