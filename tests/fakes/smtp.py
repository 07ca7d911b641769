"""A real SMTP server (aiosmtpd) that keeps what it receives, with optional TLS and AUTH."""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class RecordingHandler:
    def __init__(self) -> None:
        self.messages: list[Delivered] = []
        self.reply: str | None = None  # e.g. "451 try later" to refuse DATA
        self.connections = 0
        self.arrived = threading.Event()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.connections += 1 if not getattr(session, "_counted", False) else 0
        session._counted = True
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        self.arrived.set()
        return "250 OK queued"


class Authenticator:
    def __init__(self, username: str, password: str):
        self.username = username.encode()
        self.password = password.encode()
        self.attempts: list[str] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.attempts.append(mechanism)
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.username
            and auth_data.password == self.password
        )
        return AuthResult(success=ok, handled=False)


def start_smtp(
    *,
    tls_context: ssl.SSLContext | None = None,
    require_starttls: bool = False,
    implicit_tls: ssl.SSLContext | None = None,
    auth: Authenticator | None = None,
) -> tuple[Controller, RecordingHandler]:
    handler = RecordingHandler()
    kwargs: dict[str, Any] = {}
    if implicit_tls is not None:
        kwargs["ssl_context"] = implicit_tls
    if tls_context is not None:
        kwargs["tls_context"] = tls_context
        kwargs["require_starttls"] = require_starttls
    if auth is not None:
        kwargs["authenticator"] = auth
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = tls_context is not None
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller, handler


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
