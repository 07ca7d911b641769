"""Slack interactivity: clicks on the buttons of messages clarion posted to Slack.

Slack sends each click to the app's interactivity URL, signed with the app's signing secret:
``X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">`` with
``X-Slack-Request-Timestamp``. A request that is not signed so, or whose timestamp is more
than five minutes away, is refused and nothing is kept (an old request replayed). Each
button carries the id of the message it belongs to (see clarion.channels.slack), so the
click is kept with that message: which button, which Slack user, when.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from clarion.errors import Invalid, NotFound, Unauthenticated
from clarion.store.db import Database
from clarion.store.interactions import Interaction, record_interactions

MAX_AGE_SECONDS = 300


def check_signature(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> None:
    """Raise Unauthenticated unless Slack signed ``body`` with ``secret`` recently."""
    if not timestamp or not signature:
        raise Unauthenticated("not signed by Slack: X-Slack-Signature is missing")
    try:
        sent = int(timestamp)
    except ValueError:
        raise Unauthenticated("X-Slack-Request-Timestamp is not a time") from None
    if abs(now - sent) > MAX_AGE_SECONDS:
        raise Unauthenticated("the request is more than five minutes old (or ahead)")
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    # compare_digest refuses non-ASCII text; a signature that is not ASCII is not Slack's.
    if not signature.isascii() or not hmac.compare_digest(expected, signature):
        raise Unauthenticated("X-Slack-Signature does not match: check the signing secret")


def clicks(body: bytes, now: datetime) -> dict[uuid.UUID, list[Interaction]]:
    """The clicks in a ``block_actions`` payload, by the message their button belongs to."""
    try:
        payload: Any = json.loads(parse_qs(body.decode())["payload"][0])
    except (KeyError, IndexError, UnicodeDecodeError, ValueError):
        raise Invalid("a form with a JSON payload field is expected", field="payload") from None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return {}
    user = payload.get("user")
    user = user if isinstance(user, dict) else {}
    actor = str(user.get("username") or user.get("name") or user.get("id") or "someone")
    if user.get("id") and user.get("id") != actor:
        actor = f"{actor} ({user['id']})"
    found: dict[uuid.UUID, list[Interaction]] = {}
    for action in payload.get("actions") or []:
        if not isinstance(action, dict):
            continue
        try:
            message_id = uuid.UUID(str(action.get("value")))
        except ValueError:
            continue  # not one of clarion's buttons
        text = action.get("text")
        label = text.get("text") if isinstance(text, dict) else text
        label = str(label or action.get("action_id") or "a button")
        found.setdefault(message_id, []).append(Interaction("slack", label, actor, now))
    return found


async def receive(db: Database, secret: str | None, headers: Mapping[str, str], body: bytes) -> int:
    """Check and keep one interactivity request: how many clicks were kept."""
    if not secret:
        raise NotFound("Slack interactivity is off: set CLARION_SLACK_SIGNING_SECRET")
    now = datetime.now(UTC)
    check_signature(
        secret,
        headers.get("x-slack-request-timestamp"),
        headers.get("x-slack-signature"),
        body,
        now.timestamp(),
    )
    kept = 0
    for message_id, found in clicks(body, now).items():
        if await record_interactions(db, message_id, found):
            kept += len(found)
    return kept
