"""The smtp method against a real aiosmtpd server: plain, STARTTLS with AUTH, refusals."""

from __future__ import annotations

import asyncio

from tests.fakes.certs import make_certificates
from tests.fakes.smtp import Authenticator, start_smtp

LABELS = {"name": "dev", "reason": "idle for 30 days", "initiator": "autobuild"}


async def _send(running) -> str:
    status, body = await running.call(
        "POST",
        "/api/v1/events",
        json={"type": "workspace_deleted", "user_email": "ann@example.com", "labels": LABELS},
    )
    assert status == 202, body
    return str(body["messages"][0]["id"])


async def _wait_for_mail(handler, count: int = 1) -> None:
    for _ in range(200):
        if len(handler.messages) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no mail arrived")


async def test_plain_smtp_delivers_multipart_email(start_server) -> None:
    controller, handler = start_smtp()
    try:
        running = await start_server(
            method="smtp",
            email_from="Clarion <clarion@example.com>",
            email_smarthost=f"127.0.0.1:{controller.port}",
        )
        await running.create_user("ann@example.com", name="Ann Example")
        message_id = await _send(running)
        await running.wait_status(message_id, {"sent"})
        await _wait_for_mail(handler)
    finally:
        controller.stop()
    [mail] = handler.messages
    assert mail.rcpt_tos == ["ann@example.com"]
    msg = mail.message
    assert msg["To"] == "Ann Example <ann@example.com>"
    assert msg["From"] == "Clarion <clarion@example.com>"
    assert "dev" in msg["Subject"]
    assert msg["Message-ID"] and msg["Date"]
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "idle for 30 days" in text and "<strong>" not in text
    assert "idle for 30 days" in html and "<html" in html


async def test_starttls_with_auth(start_server, tmp_path) -> None:
    certs = make_certificates(tmp_path / "certs")
    auth = Authenticator("mailer", "s3cret")
    controller, handler = start_smtp(
        tls_context=certs.server_context(), require_starttls=True, auth=auth
    )
    try:
        running = await start_server(
            method="smtp",
            email_from="clarion@example.com",
            email_smarthost=f"127.0.0.1:{controller.port}",
            email_tls_starttls=True,
            email_tls_ca_file=str(certs.ca_file),
            email_auth_username="mailer",
            email_auth_password="s3cret",
        )
        await running.create_user("ann@example.com")
        message_id = await _send(running)
        await running.wait_status(message_id, {"sent"})
        await _wait_for_mail(handler)
    finally:
        controller.stop()
    assert auth.attempts == ["CRAM-MD5"]  # the strongest of what the server offers
    assert len(handler.messages) == 1


async def test_wrong_password_fails_permanently_naming_auth(start_server, tmp_path) -> None:
    certs = make_certificates(tmp_path / "certs")
    controller, handler = start_smtp(
        tls_context=certs.server_context(),
        require_starttls=True,
        auth=Authenticator("mailer", "s3cret"),
    )
    try:
        running = await start_server(
            method="smtp",
            email_from="clarion@example.com",
            email_smarthost=f"127.0.0.1:{controller.port}",
            email_tls_starttls=True,
            email_tls_ca_file=str(certs.ca_file),
            email_auth_username="mailer",
            email_auth_password="wrong",
        )
        await running.create_user("ann@example.com")
        message_id = await _send(running)
        message = await running.wait_status(message_id, {"permanent_failure"})
    finally:
        controller.stop()
    assert "authentication" in message["status_reason"] and message["attempt_count"] == 1
    assert handler.messages == []


async def test_transient_smtp_reply_is_retried_and_permanent_is_not(start_server) -> None:
    controller, handler = start_smtp()
    try:
        running = await start_server(
            method="smtp",
            email_from="clarion@example.com",
            retry_interval="1h",
            email_smarthost=f"127.0.0.1:{controller.port}",
        )
        await running.create_user("ann@example.com")
        handler.reply = "451 4.3.0 mailbox busy, try later"
        message = await running.wait_status(await _send(running), {"temporary_failure"})
        assert "451" in message["status_reason"] and "try later" in message["status_reason"]
        handler.reply = "550 5.1.1 no such mailbox"
        LABELS["name"] = "other"
        message = await running.wait_status(await _send(running), {"permanent_failure"})
        assert "550" in message["status_reason"]
    finally:
        LABELS["name"] = "dev"
        controller.stop()
