"""Signed links in emails: one-click unsubscribe (RFC 8058) and the notification settings page.

Each link carries a Fernet token (the same keys as secrets at rest, so replicas sharing
``CLARION_SECRET_KEY`` accept each other's links and rotation keeps old links working).
A token names its purpose, so no other sealed value, and neither kind of link, can be
replayed as the other. The link is the authority: whoever holds a user's email may change
what that user receives, as with every mailing list's settings link.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from clarion.delivery.outcome import Outbound
from clarion.intake.catalog import MUST_SEND
from clarion.secrets import SecretBox

UNSUBSCRIBE = "unsubscribe"
SETTINGS = "settings"
# A settings link grants more than one opt-out, so it ages out; every email brings a new one.
SETTINGS_LINK_SECONDS = 90 * 24 * 3600


@dataclass(frozen=True)
class OptOut:
    user_id: uuid.UUID
    event_type: str


@dataclass(frozen=True)
class SettingsGrant:
    user_id: uuid.UUID
    expired: bool


class SignedLinks:
    def __init__(self, box: SecretBox, access_url: str):
        self.box = box
        base = access_url.rstrip("/")
        self.unsubscribe_base = f"{base}/unsubscribe/"
        self.settings_page = f"{base}/settings/notifications"

    # --- one-click unsubscribe -----------------------------------------------------------

    def unsubscribe_token(self, user_id: str, event_type: str) -> str:
        return self.box.seal_for(UNSUBSCRIBE, {"u": user_id, "t": event_type})

    def read_unsubscribe(self, token: str) -> OptOut | None:
        """The opt-out a token stands for, or None if it is not one of ours."""
        body = self.box.open_for(UNSUBSCRIBE, token)
        try:
            return OptOut(uuid.UUID(body["u"]), str(body["t"])) if body else None
        except (KeyError, ValueError, TypeError, AttributeError):
            return None

    def unsubscribe_url(self, message: Outbound) -> str | None:
        """The opt-out link of a user's message; None for team mail and must-send types."""
        if not message.recipient.user_id or message.event_type in MUST_SEND:
            return None
        return self.unsubscribe_base + self.unsubscribe_token(
            message.recipient.user_id, message.event_type
        )

    # --- the settings page ---------------------------------------------------------------

    def settings_token(self, user_id: str, issued_at: int | None = None) -> str:
        return self.box.seal_for(SETTINGS, {"u": user_id}, issued_at=issued_at)

    def issued_at(self, token: str) -> int:
        """When a token of ours was made (it must have been read successfully first)."""
        return self.box.issued_at(token)

    def read_settings(self, token: str) -> SettingsGrant | None:
        """Whose settings a token opens, and whether it is too old; None if not ours."""
        body = self.box.open_for(SETTINGS, token)
        try:
            user_id = uuid.UUID(body["u"]) if body else None
        except (KeyError, ValueError, TypeError, AttributeError):
            return None
        if user_id is None:
            return None
        age = time.time() - self.issued_at(token)
        return SettingsGrant(user_id, expired=age > SETTINGS_LINK_SECONDS)

    def settings_url(self, user_id: str | None, issued_at: int | None = None) -> str:
        """The settings page, opened for ``user_id``; the bare page for team addresses.

        ``issued_at``: date the link as another link it comes from (the unsubscribe page's),
        so an old email cannot mint a fresh settings link."""
        if not user_id:
            return self.settings_page
        token = self.settings_token(user_id, issued_at)
        return f"{self.settings_page}?token={quote(token)}"
