"""One-click unsubscribe (RFC 8058): a signed link that opts one user out of one event type.

The token is a Fernet token (the same keys as secrets at rest, so replicas sharing
``CLARION_SECRET_KEY`` accept each other's links and rotation keeps old links working).
It names its purpose, so no other sealed value can be replayed as an unsubscribe link.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from cryptography.fernet import InvalidToken

from clarion.channels.base import Outbound
from clarion.intake.recipients import TRANSACTIONAL
from clarion.secrets import SecretBox

PURPOSE = "unsubscribe"


@dataclass(frozen=True)
class OptOut:
    user_id: uuid.UUID
    event_type: str


class Unsubscriber:
    def __init__(self, box: SecretBox, access_url: str):
        self.box = box
        self.base = f"{access_url.rstrip('/')}/unsubscribe/"

    def token(self, user_id: str, event_type: str) -> str:
        body = json.dumps({"p": PURPOSE, "u": user_id, "t": event_type}).encode()
        return self.box.keys.encrypt(body).decode()

    def read(self, token: str) -> OptOut | None:
        """The opt-out a token stands for, or None if it is not one of ours."""
        try:
            body = json.loads(self.box.keys.decrypt(token.encode()))
            if body.get("p") != PURPOSE:
                return None
            return OptOut(uuid.UUID(body["u"]), str(body["t"]))
        except (InvalidToken, ValueError, KeyError, TypeError, AttributeError):
            return None

    def url_for(self, message: Outbound) -> str | None:
        """The opt-out link of a user's message; None for team mail and must-send types."""
        if not message.recipient.user_id or message.event_type in TRANSACTIONAL:
            return None
        return self.base + self.token(message.recipient.user_id, message.event_type)
