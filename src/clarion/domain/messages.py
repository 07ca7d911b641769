"""What an operator may see of and do to a message in the log: read it (a secret-bearing
message with its secret redacted, for every reader however high their role) and send a
failed one again."""

from __future__ import annotations

import uuid
from typing import Any

from clarion.errors import Conflict, NotFound
from clarion.intake.catalog import SECRET_CONTENT
from clarion.store import Connection
from clarion.store import message_log as log
from clarion.store.db import Database
from clarion.store.queue import requeue
from clarion.store.tables import PERMANENT_FAILURE, TEMPORARY_FAILURE

RETRYABLE = (TEMPORARY_FAILURE, PERMANENT_FAILURE)
REDACTED = "[redacted: only the recipient sees this]"


def _redact_values(values: Any) -> Any:
    """The same keys (they say what was given), no values."""
    if isinstance(values, dict):
        return {key: REDACTED for key in values}
    return None if values is None else REDACTED


def _redact_actions(actions: Any) -> list[dict[str, Any]]:
    return [{**action, "url": REDACTED} for action in actions or []]


def as_logged(row: dict[str, Any]) -> dict[str, Any]:
    """A message's columns as the log shows them. A secret-bearing type keeps its title (the
    type's own words) and loses its body, its actions' URLs, and its labels' and data's
    values, wherever the row holds them."""
    shown = dict(row)
    if shown["event_type"] not in SECRET_CONTENT:
        return shown
    if shown.get("content") is not None:
        content = dict(shown["content"])
        for key in ("body_markdown", "body_text", "body_html"):
            if key in content:
                content[key] = REDACTED
        content["actions"] = _redact_actions(content.get("actions"))
        shown["content"] = content
    if shown.get("payload") is not None:
        payload = dict(shown["payload"])
        payload["labels"] = _redact_values(payload.get("labels"))
        payload["data"] = _redact_values(payload.get("data"))
        payload["actions"] = _redact_actions(payload.get("actions"))
        shown["payload"] = payload
    return shown


async def log_page(
    conn: Connection, where: log.LogFilter, *, limit: int, cursor: str | None = None
) -> log.LogPage:
    """A page of the log, newest first, as :func:`as_logged` shows each message.

    Raises :class:`clarion.store.message_log.CursorError` for a cursor not of ours."""
    found = await log.list_messages(conn, where, limit=limit, cursor=cursor)
    return log.LogPage([as_logged(row) for row in found.rows], found.next_cursor)


async def logged_message(conn: Connection, message_id: uuid.UUID) -> dict[str, Any] | None:
    """One message with its payload and content as :func:`as_logged` shows them, or None."""
    row = await log.get_message(conn, message_id)
    return None if row is None else as_logged(row)


async def retry_failed(db: Database, message_id: uuid.UUID, *, requested_by: str) -> None:
    """Send a failed message again, now, with a fresh round of attempts; its history keeps
    the earlier attempts and who asked. A message that is not failed is a Conflict."""
    was = await requeue(
        db, message_id, from_statuses=RETRYABLE, note=f"sent again at the request of {requested_by}"
    )
    if was is None:
        raise NotFound(f"no message {message_id}")
    if was not in RETRYABLE:
        raise Conflict(
            f"the message is {was}; only a failed message ({' or '.join(RETRYABLE)}) "
            "can be sent again"
        )
