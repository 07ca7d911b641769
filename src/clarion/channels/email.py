"""The ``email`` channel kind: a team list ("to" addresses) mailed through its own SMTP server.

Dokploy's fields (server, port, username, password, from, to) plus the TLS choice it lacks.
It uses the same sender as the ``smtp`` method: pooled connections, the branded layout,
the same reply classification; unlike the operator's smarthost, the server a user names
goes through the destination guard (at save, at Test Connection and at each connect).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from clarion.channels.registry import ChannelConfigError, ChannelDeps, ChannelKind, Destination
from clarion.delivery.guard import DestinationRefused
from clarion.delivery.mail import EmailAddress, SenderAddress
from clarion.delivery.smtp import SmtpSender, SmtpServer

Security = Literal["auto", "starttls", "tls", "none"]


class EmailChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    smtp_server: Destination[str] = Field(min_length=1, description="SMTP host name")
    smtp_port: Destination[int] = Field(
        587, ge=1, le=65535, description="587 submission, 465 TLS, 25 relay"
    )
    security: Destination[Security] = Field(
        "auto",
        description="auto: TLS on 465, else STARTTLS when offered; starttls: required; "
        "tls: implicit TLS; none: never (a trusted relay)",
    )
    username: str = Field("", description="SMTP auth username")
    password: str = Field("", description="SMTP auth password")
    from_address: SenderAddress = Field(description="'Name <alerts@example.com>'")
    to_addresses: list[EmailAddress] = Field(min_length=1, max_length=100)
    skip_verify: Destination[bool] = Field(
        False, description="do not verify the server's certificate"
    )


def build(config: EmailChannelConfig, deps: ChannelDeps) -> SmtpSender:
    security = config.security
    if security == "auto" and config.smtp_port == 465:
        security = "tls"
    server = SmtpServer(
        host=config.smtp_server,
        port=config.smtp_port,
        implicit_tls=security == "tls",
        require_starttls=security == "starttls",
        plaintext=security == "none",
        skip_verify=config.skip_verify,
        username=config.username,
        password=config.password,
        timeout=deps.http.timeout,
    )
    return SmtpSender(
        server, deps.mail, config.from_address, to=config.to_addresses, guard=deps.http.guard
    )


async def check_server(config: EmailChannelConfig, deps: ChannelDeps) -> None:
    """The server is checked by the rules of HTTP destinations (and again at each connect)."""
    try:
        await deps.http.guard.check_host(config.smtp_server, config.smtp_port)
    except DestinationRefused as exc:
        raise ChannelConfigError(f"config.smtp_server: {exc}") from None


KIND = ChannelKind(
    kind="email",
    title="Email (SMTP)",
    config_model=EmailChannelConfig,
    secret_fields=frozenset({"password"}),
    build=build,
    description="Email a team list through an SMTP server.",
    check_destination=check_server,
)
