"""Composing an email from a rendered message: shared by SMTP (method and team list) and Resend.

One place decides the subject, the HTML layout and text part, the footer's links and the
RFC 8058 one-click unsubscribe headers.
"""

from __future__ import annotations

import email.policy
import email.utils
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from typing import Annotated

from pydantic import AfterValidator

from clarion.delivery.outcome import Outbound
from clarion.render.email import Brand, EmailLinks, email_html, email_text

_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
# What ends a line for the email package (str.splitlines) and the other control characters:
# none may stand in a header, where the package refuses them (or writes them raw).
_CONTROL_RUN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# The longest header line SMTP carries (RFC 5322), without its CRLF.
_MAX_LINE = 998


def header_text(value: str) -> str:
    """``value`` on one header line: each run of line breaks and control characters is a space."""
    return _CONTROL_RUN.sub(" ", value).strip()


class _VerbatimHeader(UnstructuredHeader, BaseHeader):
    """A header written as it is, on one line: ``List-Unsubscribe: <https://…>``.

    The email package folds a long value by splitting it into RFC 2047 encoded words, and
    mail providers then do not recognise the URL and offer no one-click unsubscribe. An
    ASCII URL needs no encoding, and folding inside it would put a space in it."""

    def fold(self, *, policy: Policy) -> str:
        line = f"{self.name}: {self}"
        if not str(self).isascii() or len(line) > _MAX_LINE or _CONTROL_RUN.search(line):
            return str(super().fold(policy=policy))
        return line + str(policy.linesep)


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("list-unsubscribe", _VerbatimHeader)
POLICY = email.policy.default.clone(header_factory=_HEADERS)


def _check_address(value: str) -> str:
    value = value.strip()
    if not _ADDRESS.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _check_sender(value: str) -> str:
    if _CONTROL_RUN.search(value.strip()):
        raise ValueError("a From address cannot hold line breaks or control characters")
    addr = email.utils.parseaddr(value)[1]
    if not addr or not _ADDRESS.match(addr):
        raise ValueError(f"{value!r} is not an address or 'Name <address>'")
    return value.strip()


EmailAddress = Annotated[str, AfterValidator(_check_address)]
SenderAddress = Annotated[str, AfterValidator(_check_sender)]

# The signed opt-out URL for a message, or None when its recipient cannot opt out.
UnsubscribeUrl = Callable[[Outbound], "str | None"]
# The settings page for a user id (opened for them by a signed link), or for a team address.
SettingsUrl = Callable[["str | None"], str]


@dataclass(frozen=True)
class Composer:
    brand: Brand
    settings_url: SettingsUrl
    unsubscribe_url: UnsubscribeUrl | None = None

    def links(self, message: Outbound) -> EmailLinks:
        if not message.recipient.user_id:
            return EmailLinks(
                settings_url=self.settings_url(None),
                reason=f"Sent by {self.brand.name} to a team address subscribed to these events.",
            )
        unsubscribe = self.unsubscribe_url(message) if self.unsubscribe_url else None
        name = message.template_name or message.event_type
        return EmailLinks(
            settings_url=self.settings_url(message.recipient.user_id),
            unsubscribe_url=unsubscribe,
            reason=f"You receive “{name}” emails from {self.brand.name}.",
        )

    def parts(self, message: Outbound) -> tuple[str, str, EmailLinks]:
        """(HTML, text, links) of the message."""
        links = self.links(message)
        html = email_html(message.content, self.brand, links)
        return html, email_text(message.content, links), links

    def headers(self, links: EmailLinks) -> dict[str, str]:
        if not links.unsubscribe_url:
            return {}
        return {
            "List-Unsubscribe": f"<{links.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }

    def mime(self, message: Outbound, sender: str, to: Sequence[str]) -> EmailMessage:
        """The message as multipart/alternative (text first, HTML last), ready for SMTP."""
        html, text, links = self.parts(message)
        mail = EmailMessage(policy=POLICY)
        mail["From"] = sender
        mail["To"] = recipients_header(message, to)
        mail["Subject"] = header_text(message.content.title)
        mail["Date"] = email.utils.formatdate(localtime=False)
        domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or "clarion.invalid"
        mail["Message-ID"] = email.utils.make_msgid(idstring=message.message_id, domain=domain)
        mail["X-Clarion-Message-Id"] = message.message_id
        for name, value in self.headers(links).items():
            mail[name] = value
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(text)
        mail.add_alternative(html, subtype="html")
        return mail


def recipients_header(message: Outbound, to: Sequence[str]) -> str | Address:
    name = header_text(message.recipient.name or message.recipient.username)
    if len(to) == 1 and to[0] == message.recipient.email and name:
        return Address(display_name=name, addr_spec=to[0])
    return ", ".join(to)
