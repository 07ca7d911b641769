"""A local imitation of Resend's ``POST /emails`` that checks what Resend checks.

Bearer API key (401 ``missing_api_key``, 403 ``invalid_api_key``); ``from``, ``to``,
``subject`` required (422 ``missing_required_field``); at most 50 recipients and a
verified sending domain (422/403 ``validation_error``); 2 requests per second per team
(429 ``rate_limit_exceeded`` with ``retry-after`` and ``ratelimit-*`` headers); the same
``Idempotency-Key`` returns the first answer, and with another body 409
``invalid_idempotent_request``. Success: 200 ``{"id": …}``.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tests.fakes.sink import HttpSink, Received, Reply


def _error(status: int, name: str, message: str, **headers: str) -> Reply:
    body = {"statusCode": status, "name": name, "message": message}
    return Reply(status, json.dumps(body), {"Content-Type": "application/json", **headers})


class FakeResend(HttpSink):
    API_KEY = "re_123456789_aBcDeFgHiJkLmNoPqRsTuV"
    DOMAIN = "example.com"
    PER_SECOND = 2

    def __init__(self) -> None:
        super().__init__()
        self.responder = self._respond
        self.failing: list[Reply] = []
        self.accepted: list[dict[str, Any]] = []
        self.rate_limited = 0  # how many requests were refused for going too fast
        self._seen: dict[str, tuple[bytes, Reply]] = {}
        self._window: list[float] = []

    def _respond(self, n: int, r: Received) -> Reply:
        if r.path != "/emails":
            return _error(404, "not_found", "The requested endpoint does not exist.")
        auth = r.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return _error(401, "missing_api_key", "Missing API key in the authorization header.")
        if auth != f"Bearer {self.API_KEY}":
            return _error(403, "invalid_api_key", "API key is invalid")
        now = time.monotonic()
        self._window = [t for t in self._window if now - t < 1.0]
        if len(self._window) >= self.PER_SECOND:
            self.rate_limited += 1
            return _error(
                429,
                "rate_limit_exceeded",
                "Too many requests. You can only make 2 requests per second.",
                **{"retry-after": "1", "ratelimit-limit": "2", "ratelimit-remaining": "0"},
            )
        self._window.append(now)
        if self.failing:
            return self.failing.pop(0)
        key = r.headers.get("Idempotency-Key")
        if key and key in self._seen:
            body, reply = self._seen[key]
            if body != r.body:
                return _error(
                    409,
                    "invalid_idempotent_request",
                    "Same idempotency key used with a different request payload.",
                )
            return reply
        reply = self._validate(r)
        if key:
            self._seen[key] = (r.body, reply)
        return reply

    def _validate(self, r: Received) -> Reply:
        try:
            email: dict[str, Any] = json.loads(r.body)
        except ValueError:
            return _error(400, "validation_error", "Invalid JSON body.")
        for field in ("from", "to", "subject"):
            if not email.get(field):
                return _error(422, "missing_required_field", f"Missing `{field}` field.")
        to = email["to"] if isinstance(email["to"], list) else [email["to"]]
        if len(to) > 50:
            return _error(422, "validation_error", "Too many recipients (max 50).")
        sender = str(email["from"]).rpartition("<")[2].rstrip(">")
        if not sender.endswith("@" + self.DOMAIN):
            domain = sender.rpartition("@")[2]
            return _error(
                403,
                "validation_error",
                f"The {domain} domain is not verified. Please, add and verify your domain.",
            )
        if not email.get("html") and not email.get("text"):
            return _error(422, "validation_error", "Missing `html` or `text` field.")
        self.accepted.append(email)
        return Reply(
            200, json.dumps({"id": str(uuid.uuid4())}), {"Content-Type": "application/json"}
        )
