"""What an operator may do to a message in the log: send a failed one again."""

from __future__ import annotations

import uuid

from clarion.errors import Conflict, NotFound
from clarion.store.db import Database
from clarion.store.queue import requeue
from clarion.store.tables import PERMANENT_FAILURE, TEMPORARY_FAILURE

RETRYABLE = (TEMPORARY_FAILURE, PERMANENT_FAILURE)


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
