"""A real SMTP server (aiosmtpd) that keeps what it receives, with optional TLS and AUTH.

AUTH: PLAIN and LOGIN (aiosmtpd's, PLAIN re-done here to record the authorization
identity), CRAM-MD5 (RFC 2195) and XOAUTH2 (Google's protocol: on a bad token a 334 with a
base64 JSON error, then 535). ``mechanisms`` limits what the server offers.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import secrets
import socket
import ssl
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class RecordingHandler:
    def __init__(self, auth: Authenticator | None = None) -> None:
        self.auth = auth
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

    async def auth_PLAIN(self, server: Any, args: list[str]) -> AuthResult:
        blob = await _initial_or_challenge(server, args)
        if blob is None or blob.count(b"\0") != 2:
            return AuthResult(success=False, handled=False)
        identity, login, password = blob.split(b"\0")
        assert self.auth is not None
        self.auth.identities.append(identity.decode())
        return self.auth(server, None, None, "PLAIN", LoginPassword(login, password))

    async def auth_CRAM__MD5(self, server: Any, args: list[str]) -> AuthResult:
        assert self.auth is not None
        self.auth.attempts.append("CRAM-MD5")
        challenge = f"<{secrets.token_hex(8)}@mail.test>".encode()
        answer = await server.challenge_auth(challenge)
        if answer is MISSING:
            return AuthResult(success=False, handled=True)
        user, _, digest = answer.decode().rpartition(" ")
        expected = hmac.new(self.auth.password, challenge, "md5").hexdigest()
        ok = user.encode() == self.auth.username and hmac.compare_digest(digest, expected)
        return AuthResult(success=ok, handled=False)

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        assert self.auth is not None
        self.auth.attempts.append("XOAUTH2")
        blob = await _initial_or_challenge(server, args)
        fields = dict(
            part.split("=", 1) for part in (blob or b"").decode().split("\x01") if "=" in part
        )
        ok = (
            fields.get("user") == self.auth.username.decode()
            and fields.get("auth") == f"Bearer {self.auth.oauth_token}"
        )
        if not ok:
            error = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}
            await server.challenge_auth(json.dumps(error))  # the client answers an empty line
        return AuthResult(success=ok, handled=False)


async def _initial_or_challenge(server: Any, args: list[str]) -> bytes | None:
    if len(args) > 1:
        try:
            return base64.b64decode(args[1], validate=True)
        except ValueError:
            return None
    answer = await server.challenge_auth("")
    return None if answer is MISSING else bytes(answer)


class Authenticator:
    def __init__(self, username: str, password: str = "", oauth_token: str = ""):
        self.username = username.encode()
        self.password = password.encode()
        self.oauth_token = oauth_token
        self.attempts: list[str] = []
        self.identities: list[str] = []

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
    mechanisms: set[str] | None = None,
) -> tuple[Controller, RecordingHandler]:
    handler = RecordingHandler(auth)
    kwargs: dict[str, Any] = {}
    if mechanisms is not None:
        offered = {"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"}
        kwargs["auth_exclude_mechanism"] = sorted(offered - mechanisms)
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


class RawListener:
    """A loopback TCP listener that counts connections and greets each with fixed bytes:
    whatever else may listen on a port a user names (SSH, HTTP, a hostile greeting)."""

    def __init__(self, greeting: bytes = b"") -> None:
        self.greeting = greeting
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._open.add(writer)
        try:
            writer.write(self.greeting)
            await writer.drain()
            await reader.read(1024)  # the client's first words, or its closing
        except ConnectionError:
            pass
        finally:
            self._open.discard(writer)
            writer.close()

    async def start(self) -> RawListener:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for writer in list(self._open):
            writer.close()  # ends the handlers' reads
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
