"""Resend (HTTPS email API): the ``resend`` channel kind and the ``resend`` user method.

The same composed email as SMTP (HTML layout, text part, one-click unsubscribe headers),
posted to ``/emails`` with the message id as ``Idempotency-Key``, so a retry after a lost
answer is not a second email. Resend allows 2 requests a second per team: both the kind and
the method are paced to that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clarion.channels.registry import BaseUrlField, ChannelKind
from clarion.delivery.http import HttpClient
from clarion.delivery.mail import Composer, EmailAddress, SenderAddress, header_text
from clarion.delivery.outcome import Failed, Outbound, Outcome

RESEND_INTERVAL = 0.5  # 2 requests/s per team
MAX_RECIPIENTS = 50


class ResendConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: str = Field(min_length=1, description="API key, re_…")
    from_address: SenderAddress = Field(description="a verified sender, 'Name <a@example.com>'")
    to_addresses: list[EmailAddress] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    api_url: BaseUrlField = Field("https://api.resend.com", description="Resend API base URL")


class ResendSender:
    def __init__(
        self,
        http: HttpClient,
        composer: Composer,
        *,
        api_key: str,
        sender: str,
        to: Sequence[str] = (),
        api_url: str = "https://api.resend.com",
    ):
        self.http = http
        self.composer = composer
        self.api_key = api_key
        self.sender = sender
        self.to = list(to)
        self.api_url = api_url.rstrip("/")

    async def send(self, message: Outbound) -> Outcome:
        if not self.api_key:
            return Failed("the resend method needs CLARION_RESEND_API_KEY; set it and resend")
        if not self.sender:
            return Failed("email needs a From address (CLARION_EMAIL_FROM); set it and resend")
        to = self.to or ([message.recipient.email] if message.recipient.email else [])
        if not to:
            return Failed("the recipient has no email address")
        html, text, links = self.composer.parts(message)
        body: dict[str, Any] = {
            "from": self.sender,
            "to": to,
            "subject": header_text(message.content.title),
            "html": html,
            "text": text,
        }
        headers = self.composer.headers(links)
        if headers:
            body["headers"] = headers
        outcome, _, _ = await self.http.post(
            f"{self.api_url}/emails",
            json_body=body,
            headers={
                "Authorization": f"Bearer {self.api_key}",
                "Idempotency-Key": message.message_id,
            },
            provider="Resend",
        )
        return outcome


KIND = ChannelKind(
    kind="resend",
    title="Resend",
    config_model=ResendConfig,
    secret_fields=frozenset({"api_key"}),
    build=lambda config, deps: ResendSender(
        deps.http,
        deps.mail,
        api_key=config.api_key,
        sender=config.from_address,
        to=config.to_addresses,
        api_url=config.api_url,
    ),
    description="Email a list of addresses through the Resend API.",
    min_interval=lambda config: RESEND_INTERVAL,
)
