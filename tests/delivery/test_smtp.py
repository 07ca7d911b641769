"""The SMTP sender against a real aiosmtpd server: TLS modes, auth mechanisms, pooling, reasons.

These drive :class:`SmtpSender` directly (no database): what is under test is the
conversation with the mail server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from clarion.config import Settings
from clarion.delivery.guard import DestinationGuard
from clarion.delivery.mail import Composer
from clarion.delivery.outcome import Delivered, Failed, Outbound, Recipient, Retry
from clarion.delivery.smtp import SmtpSender, SmtpServer
from clarion.render import Rendered, RenderedAction
from clarion.render.email import Brand
from tests.fakes.certs import Certificates, make_certificates
from tests.fakes.smtp import Authenticator, RawListener, RecordingHandler, free_port, start_smtp

COMPOSER = Composer(Brand(), lambda _: "http://clarion.test/settings/notifications")


def outbound(n: int = 0) -> Outbound:
    content = Rendered(
        title=f"Workspace dev-{n} was deleted",
        title_markdown=f"Workspace dev-{n} was deleted",
        body_markdown="It was idle.",
        body_text="It was idle.",
        body_html="<p>It was idle.</p>",
        actions=(RenderedAction("View workspaces", "https://coder.example.com/workspaces"),),
    )
    return Outbound(
        message_id=f"00000000-0000-0000-0000-{n:012d}",
        event_type="workspace_deleted",
        template_id="",
        template_name="Workspace Deleted",
        recipient=Recipient(user_id="u1", email="ann@example.com", name="Ann"),
        content=content,
    )


@pytest.fixture
def certs(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path / "certs")


@pytest.fixture
def servers() -> Iterator[list[Controller]]:
    started: list[Controller] = []
    yield started
    for controller in started:
        controller.stop()


def smtp(servers: list[Controller], **kwargs: Any) -> tuple[Controller, RecordingHandler]:
    controller, handler = start_smtp(**kwargs)
    servers.append(controller)
    return controller, handler


async def send(server: SmtpServer, n: int = 0, **kwargs: Any) -> Any:
    sender = SmtpSender(server, COMPOSER, "Clarion <clarion@example.com>", **kwargs)
    try:
        return await sender.send(outbound(n))
    finally:
        await sender.close()


async def test_implicit_tls_verified_with_the_ca_file(servers, certs) -> None:
    controller, handler = smtp(servers, implicit_tls=certs.server_context())
    server = SmtpServer("127.0.0.1", controller.port, implicit_tls=True, ca_file=str(certs.ca_file))
    assert isinstance(await send(server), Delivered)
    assert len(handler.messages) == 1


async def test_forced_tls_ignores_the_starttls_setting(servers, certs, monkeypatch) -> None:
    """Both set (CLARION_EMAIL_FORCE_TLS and _TLS_STARTTLS) failed every email: aiosmtplib
    refuses to be asked for implicit TLS and STARTTLS at once."""
    controller, handler = smtp(servers, implicit_tls=certs.server_context())
    monkeypatch.setenv("CLARION_EMAIL_SMARTHOST", f"127.0.0.1:{controller.port}")
    settings = Settings(
        email_force_tls=True, email_tls_starttls=True, email_tls_ca_file=str(certs.ca_file)
    )
    server = SmtpServer.from_settings(settings)
    assert isinstance(await send(server), Delivered)
    assert len(handler.messages) == 1


async def test_starttls_with_skip_verify_and_no_ca(servers, certs) -> None:
    controller, handler = smtp(servers, tls_context=certs.server_context(), require_starttls=True)
    strict = SmtpServer("127.0.0.1", controller.port, require_starttls=True)
    outcome = await send(strict)  # the test CA is not trusted by the system store
    assert isinstance(outcome, Failed) and "certificate" in outcome.reason
    relaxed = SmtpServer("127.0.0.1", controller.port, require_starttls=True, skip_verify=True)
    assert isinstance(await send(relaxed), Delivered)
    assert len(handler.messages) == 1


async def test_server_name_is_what_the_certificate_is_checked_against(servers, certs) -> None:
    controller, handler = smtp(servers, implicit_tls=certs.server_context())
    common: dict[str, Any] = {"implicit_tls": True, "ca_file": str(certs.ca_file)}
    right = SmtpServer("127.0.0.1", controller.port, server_name="mail.test", **common)
    assert isinstance(await send(right), Delivered)
    wrong = SmtpServer("127.0.0.1", controller.port, server_name="smtp.other.test", **common)
    outcome = await send(wrong)
    assert isinstance(outcome, Failed), outcome
    assert "TLS" in outcome.reason and "smtp.other.test" in outcome.reason
    assert "certificate" in outcome.reason
    assert len(handler.messages) == 1


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
async def test_each_password_mechanism_when_it_is_the_only_one(servers, certs, mechanism) -> None:
    auth = Authenticator("mailer", "s3cret")
    controller, handler = smtp(
        servers, tls_context=certs.server_context(), auth=auth, mechanisms={mechanism}
    )
    base: dict[str, Any] = {"require_starttls": True, "ca_file": str(certs.ca_file)}
    good = SmtpServer("127.0.0.1", controller.port, username="mailer", password="s3cret", **base)
    assert isinstance(await send(good), Delivered)
    assert auth.attempts == [mechanism]
    bad = SmtpServer("127.0.0.1", controller.port, username="mailer", password="nope", **base)
    outcome = await send(bad)
    assert isinstance(outcome, Failed) and "refused authentication" in outcome.reason
    assert "535" in outcome.reason
    assert len(handler.messages) == 1


async def test_xoauth2_token_read_from_a_file_each_connection(servers, certs, tmp_path) -> None:
    auth = Authenticator("ann@example.com", oauth_token="ya29.good")
    controller, handler = smtp(
        servers, tls_context=certs.server_context(), auth=auth, mechanisms={"XOAUTH2", "PLAIN"}
    )
    token_file = tmp_path / "token"
    token_file.write_text("ya29.good\n")
    server = SmtpServer(
        "127.0.0.1",
        controller.port,
        require_starttls=True,
        ca_file=str(certs.ca_file),
        username="ann@example.com",
        oauth_token=lambda: token_file.read_text().strip(),
    )
    assert isinstance(await send(server), Delivered)
    token_file.write_text("ya29.expired\n")
    outcome = await send(server, 1)
    assert isinstance(outcome, Failed) and "refused authentication" in outcome.reason
    assert auth.attempts == ["XOAUTH2", "XOAUTH2"] and len(handler.messages) == 1


async def test_plain_sends_the_auth_identity(servers, certs) -> None:
    auth = Authenticator("mailer", "s3cret")
    controller, _ = smtp(servers, tls_context=certs.server_context(), auth=auth)
    server = SmtpServer(
        "127.0.0.1",
        controller.port,
        require_starttls=True,
        ca_file=str(certs.ca_file),
        username="mailer",
        password="s3cret",
        identity="alerts@example.com",
    )
    assert isinstance(await send(server), Delivered)
    assert auth.identities == ["alerts@example.com"]


async def test_200_messages_reuse_a_few_connections(servers) -> None:
    controller, handler = smtp(servers)
    sender = SmtpSender(
        SmtpServer("127.0.0.1", controller.port), COMPOSER, "clarion@example.com", pool_size=4
    )
    try:
        outcomes = await asyncio.gather(*(sender.send(outbound(n)) for n in range(200)))
    finally:
        await sender.close()
    assert all(isinstance(o, Delivered) for o in outcomes)
    assert len(handler.messages) == 200
    assert 0 < handler.connections <= 4  # the pool size, far fewer than 200


async def test_a_dropped_pooled_connection_is_replaced(servers) -> None:
    controller, handler = smtp(servers)
    sender = SmtpSender(SmtpServer("127.0.0.1", controller.port), COMPOSER, "c@example.com")
    try:
        assert isinstance(await sender.send(outbound(1)), Delivered)
        for client, _ in sender._idle:
            client.close()  # the server hung up while the connection sat idle
        assert isinstance(await sender.send(outbound(2)), Delivered)
    finally:
        await sender.close()
    assert len(handler.messages) == 2 and handler.connections == 2


async def test_unreachable_server_is_retried_with_a_reason_saying_so() -> None:
    outcome = await send(SmtpServer("127.0.0.1", free_port(), timeout=2))
    assert isinstance(outcome, Retry) and "could not connect" in outcome.reason


class Resolver:
    """Answers every name with one address and records what it was asked."""

    def __init__(self, address: str):
        self.address = address
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return [self.address]


async def test_a_server_a_user_named_is_refused_before_connecting() -> None:
    listener = await RawListener(b"220 listening\r\n").start()
    try:
        resolver = Resolver("127.0.0.1")
        guard = DestinationGuard(allow_private=False, resolve=resolver)
        server = SmtpServer("mail.example.test", listener.port, password="pw", username="u")
        outcome = await send(server, guard=guard)
    finally:
        await listener.stop()
    assert isinstance(outcome, Failed), outcome
    assert "refusing to connect to mail.example.test" in outcome.reason
    assert "CLARION_ALLOW_PRIVATE_DESTINATIONS" in outcome.reason
    assert resolver.asked == [("mail.example.test", listener.port)]
    assert listener.connections == 0


async def test_a_server_a_user_named_is_reached_at_the_address_checked(servers, certs) -> None:
    """The name is resolved once, by the guard; the connection goes to that address (the
    name does not resolve anywhere else), and TLS is still verified against the name."""
    controller, handler = smtp(servers, tls_context=certs.server_context(), require_starttls=True)
    resolver = Resolver("127.0.0.1")
    guard = DestinationGuard(allow_private=True, resolve=resolver)
    server = SmtpServer(
        "mail.test", controller.port, require_starttls=True, ca_file=str(certs.ca_file)
    )
    assert isinstance(await send(server, guard=guard), Delivered)
    assert resolver.asked == [("mail.test", controller.port)] and len(handler.messages) == 1
    elsewhere = SmtpServer(
        "smtp.other.test", controller.port, require_starttls=True, ca_file=str(certs.ca_file)
    )
    outcome = await send(elsewhere, guard=guard)
    assert isinstance(outcome, Failed) and "certificate did not verify" in outcome.reason


@pytest.mark.parametrize(
    "greeting",
    [
        b"SSH-2.0-OpenSSH_9.6 banner-bytes\r\n",
        b"HTTP/1.1 400 Bad Request\r\nServer: banner-bytes\r\n\r\n",
        b"554 banner-bytes: go away\r\n",
        b"220 banner-bytes ESMTP\r\n250 banner-bytes\r\n",
    ],
)
async def test_what_a_port_a_user_named_answers_is_not_repeated(greeting: bytes) -> None:
    listener = await RawListener(greeting).start()
    try:
        guard = DestinationGuard(allow_private=True, resolve=Resolver("127.0.0.1"))
        outcome = await send(SmtpServer("mail.example.test", listener.port, timeout=2), guard=guard)
    finally:
        await listener.stop()
    assert isinstance(outcome, Retry | Failed), outcome
    assert f"mail.example.test:{listener.port}" in outcome.reason
    assert "banner" not in outcome.reason and "OpenSSH" not in outcome.reason
    assert "Bad Request" not in outcome.reason and listener.connections == 1


async def test_a_refused_login_to_a_server_a_user_named_gives_the_code_only(servers, certs) -> None:
    auth = Authenticator("mailer", "s3cret")
    controller, _ = smtp(servers, tls_context=certs.server_context(), auth=auth)
    guard = DestinationGuard(allow_private=True, resolve=Resolver("127.0.0.1"))
    server = SmtpServer(
        "mail.test",
        controller.port,
        require_starttls=True,
        ca_file=str(certs.ca_file),
        username="mailer",
        password="wrong",
    )
    outcome = await send(server, guard=guard)
    assert isinstance(outcome, Failed) and outcome.reason.endswith("refused authentication (535)")


LINE_SEPARATORS = ["\n", "\r\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]


async def test_line_separators_in_titles_and_names_are_folded(servers) -> None:
    """Each would make the email package refuse the header, on every attempt."""
    controller, handler = smtp(servers)
    sender = SmtpSender(SmtpServer("127.0.0.1", controller.port), COMPOSER, "c@example.com")
    try:
        for n, separator in enumerate(LINE_SEPARATORS):
            message = outbound(n)
            message = replace(
                message,
                content=replace(message.content, title=f"Workspace{separator}dev-{n}"),
                recipient=replace(message.recipient, name=f"Ann{separator}Bcc: eve@example.com"),
            )
            outcome = await sender.send(message)
            assert isinstance(outcome, Delivered), (separator, outcome)
    finally:
        await sender.close()
    assert len(handler.messages) == len(LINE_SEPARATORS)
    for n, mail in enumerate(handler.messages):
        assert mail.message["Subject"] == f"Workspace dev-{n}"
        assert mail.message["To"].addresses[0].display_name == "Ann Bcc: eve@example.com"
        assert mail.message["To"].addresses[0].addr_spec == "ann@example.com"
        assert mail.message["Bcc"] is None and mail.rcpt_tos == ["ann@example.com"]


async def test_an_email_that_cannot_be_composed_fails_with_a_reason(servers) -> None:
    controller, handler = smtp(servers)
    server = SmtpServer("127.0.0.1", controller.port)
    sender = SmtpSender(server, COMPOSER, "Clarion\r\nBcc: eve@example.com <c@example.com>")
    try:
        outcome = await sender.send(outbound())
    finally:
        await sender.close()
    assert isinstance(outcome, Failed)
    assert outcome.reason.startswith("the email could not be composed: ValueError")
    assert handler.connections == 0 and not handler.messages


async def test_list_unsubscribe_is_the_plain_url_not_encoded_words(servers) -> None:
    """Providers offer one-click unsubscribe only for a header they can read as a URL."""
    url = "https://clarion.example.com/unsubscribe/" + "A1b2-C3d4_" * 20
    composer = Composer(
        Brand(), lambda _: "http://clarion.test/settings", unsubscribe_url=lambda _: url
    )
    controller, handler = smtp(servers)
    sender = SmtpSender(SmtpServer("127.0.0.1", controller.port), composer, "c@example.com")
    try:
        assert isinstance(await sender.send(outbound()), Delivered)
    finally:
        await sender.close()
    [mail] = handler.messages
    raw = dict(mail.message.raw_items())["List-Unsubscribe"]
    unfolded = raw.replace("\r\n", "").replace("\n", "").strip()
    assert unfolded == f"<{url}>"
    assert "=?" not in raw
    assert dict(mail.message.raw_items())["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
