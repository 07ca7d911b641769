"""The ``smtp`` method: multipart email through the configured smarthost.

Connections are pooled and reused (a new connection per message is 1.6 times slower, and
far slower with TLS); an idle connection is checked with NOOP before reuse, and one that
fails is dropped so the next send opens another. Authentication picks what the server
offers: XOAUTH2 when a token is configured, PLAIN with an identity when one is set, else
CRAM-MD5, PLAIN or LOGIN. SMTP replies are classified here: 4xx retry, 5xx fail
permanently, refused auth fails; the reason says which step went wrong.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosmtplib

from clarion.config import Settings
from clarion.delivery.guard import DestinationGuard, DestinationRefused
from clarion.delivery.mail import Composer
from clarion.delivery.outcome import Delivered, Failed, Outbound, Outcome, Retry, trim
from clarion.delivery.scrub import scrub_outcome
from clarion.redact import Scrubber

# An idle connection older than this is checked with NOOP before it carries a message.
HEALTH_CHECK_AFTER = 5.0


class _ExpectedNameContext(ssl.SSLContext):
    """Verifies the server's certificate against a configured name instead of the host."""

    expected_name: str = ""

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        if self.expected_name:
            kwargs["server_hostname"] = self.expected_name
        return super().wrap_bio(*args, **kwargs)


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    hello: str = "localhost"
    implicit_tls: bool = False
    require_starttls: bool = False
    plaintext: bool = False  # never upgrade (a trusted relay on port 25)
    skip_verify: bool = False
    server_name: str = ""
    username: str = ""
    password: str | None = None
    identity: str = ""
    oauth_token: Callable[[], str | None] | None = None
    cert_file: str | None = None
    key_file: str | None = None
    ca_file: str | None = None
    timeout: float = 60.0

    @classmethod
    def parse_smarthost(cls, smarthost: str) -> tuple[str, int]:
        host, _, port = smarthost.rpartition(":")
        return (host or smarthost).strip("[]"), int(port) if port.isdigit() else 587

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpServer:
        host, port = cls.parse_smarthost(settings.email_smarthost)
        has_token = settings.email_auth_oauth_token or settings.email_auth_oauth_token_file
        return cls(
            host=host,
            port=port,
            hello=settings.email_hello,
            implicit_tls=settings.email_force_tls or port == 465,
            require_starttls=settings.email_tls_starttls,
            skip_verify=settings.email_tls_skip_verify,
            server_name=settings.email_tls_server_name,
            username=settings.email_auth_username,
            password=settings.email_password(),
            identity=settings.email_auth_identity,
            oauth_token=settings.email_oauth_token if has_token else None,
            cert_file=_path(settings.email_tls_cert_file),
            key_file=_path(settings.email_tls_cert_key_file),
            ca_file=_path(settings.email_tls_ca_file),
            timeout=settings.dispatch_timeout.total_seconds(),
        )

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def tls_context(self, expected_name: str = "") -> ssl.SSLContext:
        """``expected_name``: the name to verify when connecting by address, not by it."""
        context = _ExpectedNameContext(ssl.PROTOCOL_TLS_CLIENT)
        context.expected_name = self.server_name or expected_name
        if self.skip_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif self.ca_file:
            context.load_verify_locations(cafile=self.ca_file)
        else:
            context.load_default_certs()
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _path(value: object) -> str | None:
    return str(value) if value else None


class _ConnectFailed(Exception):
    """Connecting to a server a user named failed before the message was handed over; the
    reason says where and how, never what the remote end sent (else any port on any host
    could be read out through a channel's error)."""

    def __init__(self, outcome: Retry | Failed):
        super().__init__(outcome.reason)
        self.outcome = outcome


class SmtpSender:
    """Sends through a small pool of reused SMTP connections to one server.

    ``to``: fixed addresses (a team email channel); otherwise the recipient user's address.
    ``guard``: for a server a user named (not the operator's smarthost), the destination
    guard: the server's addresses are checked and connected to, not its name.
    """

    def __init__(
        self,
        server: SmtpServer,
        composer: Composer,
        sender: str,
        *,
        to: Sequence[str] = (),
        pool_size: int = 4,
        guard: DestinationGuard | None = None,
    ):
        self.server = server
        self.composer = composer
        self.sender = sender
        self.to = tuple(to)
        self.guard = guard
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._slots = asyncio.Semaphore(pool_size)

    def _client(self, address: str = "") -> aiosmtplib.SMTP:
        """``address``: connect there, verifying TLS against the configured host name."""
        s = self.server
        kwargs: dict[str, Any] = {
            "hostname": address or s.host,
            "port": s.port,
            "local_hostname": s.hello,
            "timeout": s.timeout,
            "use_tls": s.implicit_tls,
            "start_tls": self._start_tls(),
            "tls_context": s.tls_context(expected_name=s.host if address else ""),
        }
        if s.oauth_token is not None:
            token = s.oauth_token

            async def generate() -> str:
                return token() or ""

            kwargs["username"] = s.username
            kwargs["oauth_token_generator"] = generate
        elif s.username and not s.identity:
            kwargs["username"] = s.username
            kwargs["password"] = s.password or ""
        return aiosmtplib.SMTP(**kwargs)

    def _start_tls(self) -> bool | None:
        """aiosmtplib's ``start_tls``: True requires it, None uses it when offered.

        As Coder does, STARTTLS is ignored on a connection that is TLS from the start
        (aiosmtplib refuses to be asked for both).
        """
        s = self.server
        if s.implicit_tls or s.plaintext:
            return False
        return True if s.require_starttls else None

    async def _connect(self) -> aiosmtplib.SMTP:
        if self.guard is not None:
            return await self._connect_guarded(self.guard)
        client = self._client()
        await client.connect()
        await self._login(client)
        return client

    async def _login(self, client: aiosmtplib.SMTP) -> None:
        """The AUTH aiosmtplib cannot do by itself at connect (one with an identity)."""
        s = self.server
        if s.identity and s.username and s.oauth_token is None:
            await _auth_plain_with_identity(client, s)

    async def _connect_guarded(self, guard: DestinationGuard) -> aiosmtplib.SMTP:
        where = self.server.where
        try:
            addresses = await guard.addresses(self.server.host, self.server.port)
        except DestinationRefused as exc:
            raise _ConnectFailed(Failed(str(exc))) from None
        except OSError:
            raise _ConnectFailed(Retry(f"SMTP server {where}: the name does not resolve")) from None
        outcome: Retry | Failed = Retry(f"could not connect to SMTP server {where}")
        for address in addresses:  # the next address only when this one did not answer
            client = self._client(str(address))
            try:
                await client.connect()
                await self._login(client)
                return client
            except Exception as exc:
                client.close()
                outcome = classify_connect_error(exc, self.server)
                unanswered = isinstance(exc, aiosmtplib.SMTPConnectError) and not isinstance(
                    exc, aiosmtplib.SMTPResponseException
                )
                if not unanswered:
                    break
        raise _ConnectFailed(outcome)

    async def _connected(self) -> aiosmtplib.SMTP:
        while self._idle:
            client, idle_since = self._idle.pop()
            if not client.is_connected:
                continue
            if time.monotonic() - idle_since < HEALTH_CHECK_AFTER:
                return client
            try:
                await client.noop()
                return client
            except aiosmtplib.SMTPException:
                client.close()
        return await self._connect()

    async def send(self, message: Outbound) -> Outcome:
        if not self.sender:
            return Failed("email needs a From address (CLARION_EMAIL_FROM); set it and resend")
        to = self.to or ((message.recipient.email,) if message.recipient.email else ())
        if not to:
            return Failed("the recipient has no email address")
        try:
            mail = self.composer.mime(message, self.sender, to)
        except Exception as exc:  # the same message would fail the same way on every attempt
            reason = f"{type(exc).__name__}: {trim(str(exc))}"
            return Failed(f"the email could not be composed: {reason}")
        async with self._slots:
            client: aiosmtplib.SMTP | None = None
            try:
                client = await self._connected()
                await client.send_message(mail, recipients=list(to))
            except _ConnectFailed as exc:
                return exc.outcome
            except Exception as exc:
                if client is not None:
                    with contextlib.suppress(Exception):
                        client.close()
                return classify_smtp_error(exc, self.server)
            self._idle.append((client, time.monotonic()))
        return Delivered(f"accepted by {self.server.where}")

    async def close(self) -> None:
        for client, _ in self._idle:
            with contextlib.suppress(Exception):
                await client.quit()
        self._idle.clear()


async def _auth_plain_with_identity(client: aiosmtplib.SMTP, server: SmtpServer) -> None:
    """AUTH PLAIN with an authorization identity (RFC 4616), which aiosmtplib does not send."""
    if not client.server_auth_methods:
        await client.ehlo()  # after STARTTLS the extensions are asked for again
    if "plain" not in client.server_auth_methods:
        raise aiosmtplib.SMTPAuthenticationError(
            504, "the server does not offer AUTH PLAIN, which an auth identity needs"
        )
    raw = f"{server.identity}\0{server.username}\0{server.password or ''}".encode()
    response = await client.execute_command(b"AUTH", b"PLAIN", base64.b64encode(raw))
    if response.code != 235:
        raise aiosmtplib.SMTPAuthenticationError(response.code, response.message)


def classify_connect_error(exc: Exception, server: SmtpServer) -> Retry | Failed:
    """Why connecting to a server a user named failed, by kind only: the remote's replies
    are not repeated (the greeting or an error line of whatever listens on that port)."""
    where = server.where
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return Failed(f"SMTP server {where} refused authentication ({exc.code})")
    text = str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return Failed(
            f"TLS with SMTP server {where} failed: the server's certificate did not verify; "
            "check the server name or skip-verify"
        )
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return Retry(f"SMTP server {where} timed out")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return Retry(f"SMTP server {where} refused the connection ({exc.code})")
    if isinstance(exc, ssl.SSLError) or "ssl" in text.lower() or "tls" in text.lower():
        return Retry(f"TLS with SMTP server {where} failed")
    if isinstance(exc, aiosmtplib.SMTPConnectError | OSError):
        return Retry(f"could not connect to SMTP server {where}")
    return Retry(f"SMTP with {where} failed before sending ({type(exc).__name__})")


def classify_smtp_error(exc: Exception, server: SmtpServer) -> Outcome:
    """Retry or fail by the server's answer; the reason quotes it without the credentials
    (a server may echo the AUTH line, which holds the password in base64)."""
    return scrub_outcome(_classify(exc, server), Scrubber(*_credentials(server)))


def _credentials(server: SmtpServer) -> list[str]:
    """The secrets and the AUTH lines built from them (PLAIN, with and without identity;
    XOAUTH2)."""
    found = [server.password] if server.password else []
    if server.password:
        for identity in dict.fromkeys(("", server.identity)):
            plain = f"{identity}\0{server.username}\0{server.password}"
            found.append(base64.b64encode(plain.encode()).decode())
    token = None
    if server.oauth_token is not None:
        with contextlib.suppress(OSError):  # a token file gone: nothing of it to hide
            token = server.oauth_token()
    if token:
        xoauth = f"user={server.username}\x01auth=Bearer {token}\x01\x01"
        found += [token, base64.b64encode(xoauth.encode()).decode()]
    return found


def _classify(exc: Exception, server: SmtpServer) -> Outcome:
    where = server.where
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return Failed(f"SMTP server {where} refused authentication: {exc.code} {trim(exc.message)}")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        replies = "; ".join(f"{r.recipient}: {r.code} {trim(r.message)}" for r in exc.recipients)
        codes = {r.code for r in exc.recipients}
        reason = f"SMTP server {where} refused the recipient: {replies}"
        return Retry(reason) if all(400 <= code < 500 for code in codes) else Failed(reason)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        reason = f"SMTP server {where} answered {exc.code} {trim(exc.message)}"
        return Retry(reason) if 400 <= exc.code < 500 else Failed(reason)
    text = str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        # A certificate that does not verify will not verify on retry: fix the settings.
        expected = f"; expected it to name {server.server_name!r}" if server.server_name else ""
        return Failed(
            f"TLS with SMTP server {where} failed: the server's certificate did not verify "
            f"({trim(text)}{expected}); check CA file, server name or skip-verify"
        )
    if isinstance(exc, ssl.SSLError) or "ssl" in text.lower() or "tls" in text.lower():
        return Retry(f"TLS with SMTP server {where} failed: {trim(text)}")
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return Retry(f"SMTP server {where} timed out")
    if isinstance(exc, aiosmtplib.SMTPConnectError | OSError):
        return Retry(f"could not connect to SMTP server {where}: {trim(text)}")
    if isinstance(exc, aiosmtplib.SMTPException):
        return Retry(f"SMTP with {where} failed: {trim(text)}")
    return Retry(f"SMTP send failed: {type(exc).__name__}: {trim(text)}")
