"""The ``email`` channel kind: a team list ("to" addresses) mailed through its own SMTP server.

Dokploy's fields (server, port, username, password, from, to) plus the TLS choice it lacks.
It uses the same sender as the ``smtp`` method: pooled connections, the branded layout,
the same reply classification.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from clarion.channels.mail import EmailAddress, SenderAddress
from clarion.channels.registry import ChannelDeps, ChannelKind
from clarion.channels.smtp import SmtpSender, SmtpServer

Security = Literal["auto", "starttls", "tls", "none"]


class EmailChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    smtp_server: str = Field(min_length=1, description="SMTP host name")
    smtp_port: int = Field(587, ge=1, le=65535, description="587 submission, 465 TLS, 25 relay")
    security: Security = Field(
        "auto",
        description="auto: TLS on 465, else STARTTLS when offered; starttls: required; "
        "tls: implicit TLS; none: never (a trusted relay)",
    )
    username: str = Field("", description="SMTP auth username")
    password: str = Field("", description="SMTP auth password")
    from_address: SenderAddress = Field(description="'Name <alerts@example.com>'")
    to_addresses: list[EmailAddress] = Field(min_length=1, max_length=100)
    skip_verify: bool = Field(False, description="do not verify the server's certificate")


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
    return SmtpSender(server, deps.mail, config.from_address, to=config.to_addresses)


KIND = ChannelKind(
    kind="email",
    title="Email (SMTP)",
    config_model=EmailChannelConfig,
    secret_fields=frozenset({"password"}),
    build=build,
    description="Email a team list through an SMTP server.",
)
