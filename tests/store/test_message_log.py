"""Log cursors: only what a previous page handed out is accepted. A secret-bearing message is
delivered with its secret, and the log (API and pages) shows it to no one."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser, expect

from clarion.domain.messages import REDACTED
from clarion.store.message_log import CursorError, decode_cursor, encode_cursor
from tests.fakes.smtp import start_smtp

PASSCODE = "otp-7Qx2Lm9Vd4"


def test_a_cursor_round_trips() -> None:
    when, ident = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC), uuid.uuid4()
    assert decode_cursor(encode_cursor(when, ident)) == (when, ident)


# Fixed, so that every test worker collects the same test names.
FIXED_ID = uuid.UUID("9d840a49-0d69-49a2-8fb8-5ef6b8d95f9b")


@pytest.mark.parametrize(
    "raw",
    [
        "2026-11-23T10:00:00|" + str(FIXED_ID),  # no time zone: not one of ours
        "yesterday|" + str(FIXED_ID),
        "2026-11-23T10:00:00+00:00|not-a-uuid",
        "no separator",
        # In range as written, out of datetime's range once in UTC.
        "0001-01-01T00:00:00+14:00|" + str(FIXED_ID),
        "9999-12-31T23:59:59-14:00|" + str(FIXED_ID),
    ],
)
def test_anything_else_is_refused(raw: str) -> None:
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    with pytest.raises(CursorError):
        decode_cursor(cursor)


async def test_a_one_time_passcode_is_sent_but_never_shown_in_the_log(
    start_server, browser: Browser
) -> None:
    controller, handler = start_smtp()
    try:
        running = await start_server(
            method="smtp",
            email_from="alerts@example.com",
            email_smarthost=f"127.0.0.1:{controller.port}",
        )
        olga = await running.create_user("olga@example.com", roles=["owner"])
        ula = await running.create_user("ula@example.com", roles=["user-admin"])
        _, posted = await running.call(
            "POST",
            "/api/v1/events",
            json={
                "type": "user_one_time_passcode",
                "user_id": olga["id"],
                "labels": {"one_time_passcode": PASSCODE},
                "data": {"otp": PASSCODE},
            },
        )
        [message] = posted["messages"]
        await running.wait_status(message["id"], {"sent"})
        # The delivery carries it.
        [mail] = [d for d in handler.messages if d.message["Subject"] == "Reset your password"]
        assert mail.rcpt_tos == ["olga@example.com"]
        text_part, html_part = mail.message.iter_parts()
        assert f"otp={PASSCODE}" in text_part.get_content()
        assert f"otp={PASSCODE}" in html_part.get_content()

        for holder in (olga, ula):
            _, token = await running.call("POST", f"/api/v1/users/{holder['id']}/tokens", json={})
            as_holder = token["token"]
            status, found = await running.call(
                "GET", f"/api/v1/messages/{message['id']}", token=as_holder
            )
            assert status == 200 and found["event_type"] == "user_one_time_passcode"
            assert found["title"] == "Reset your password"
            assert found["payload"]["labels"] == {"one_time_passcode": REDACTED}
            assert PASSCODE not in json.dumps(found)
            status, listed = await running.call(
                "GET", "/api/v1/messages?event_type=user_one_time_passcode", token=as_holder
            )
            assert status == 200 and [m["id"] for m in listed["items"]] == [message["id"]]
            assert PASSCODE not in json.dumps(listed)

            page = await browser.new_page()
            await page.goto(running.url + "/admin/messages")
            await page.get_by_label("API token").fill(as_holder)
            await page.get_by_role("button", name="Sign in").click()
            await expect(page.get_by_role("heading", name="Message log")).to_be_visible()
            assert PASSCODE not in await page.content()
            await page.goto(running.url + f"/admin/messages/{message['id']}")
            await expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
            assert PASSCODE not in await page.content()
            await page.close()
    finally:
        controller.stop()
