"""The ``inbox`` method: the message row itself is the inbox item, so delivery is immediate.

Marking it ``sent`` makes it visible in ``GET /api/v1/inbox``; the dispatcher then wakes
the user's live streams.
"""

from __future__ import annotations

from clarion.delivery.outcome import Delivered, Outbound, Outcome


class InboxSender:
    async def send(self, message: Outbound) -> Outcome:
        return Delivered("stored in the inbox")
