"""The email a user receives: its parts, layout, one-click unsubscribe, and how it looks.

A real server delivers through a real aiosmtpd; the received HTML is opened in headless
Chromium, checked for layout at desktop and phone widths, and kept as screenshots in
``test-artifacts/`` (``CLARION_TEST_ARTIFACTS`` to put them elsewhere).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.conftest import ARTIFACTS
from tests.fakes.smtp import RecordingHandler, start_smtp

LABELS = {"name": "dév <b>&</b>", "reason": "idle for 30 days", "initiator": "autobuild"}


async def _mail(handler: RecordingHandler, count: int) -> Any:
    for _ in range(200):
        if len(handler.messages) >= count:
            return handler.messages[count - 1].message
        await asyncio.sleep(0.05)
    raise AssertionError("no mail arrived")


@pytest.fixture
def smtp_server() -> Any:
    controller, handler = start_smtp()
    yield controller, handler
    controller.stop()


async def _event(running, name: str) -> dict[str, Any]:
    status, event = await running.call(
        "POST",
        "/api/v1/events",
        json={
            "type": "workspace_deleted",
            "user_email": "zoe@example.com",
            "labels": {**LABELS, "name": name},
        },
    )
    assert status == 202, event
    return dict(event["messages"][0])


async def test_multipart_email_with_buttons_and_one_click_unsubscribe(
    start_server, smtp_server, browser: Browser
) -> None:
    controller, handler = smtp_server
    running = await start_server(
        method="smtp",
        email_from="Clarion Alerts <alerts@example.com>",
        email_smarthost=f"127.0.0.1:{controller.port}",
        email_brand_name="Acme Cloud",
    )
    await running.create_user("zoe@example.com", name="Zoë Straße")
    first = await _event(running, "dév <b>&</b>")
    await running.wait_status(first["id"], {"sent"})
    mail = await _mail(handler, 1)

    assert mail["To"] == "Zoë Straße <zoe@example.com>"
    assert mail["Subject"] == 'Workspace "dév <b>&</b>" deleted'  # RFC 2047 round trip
    assert mail["From"] == "Clarion Alerts <alerts@example.com>"
    assert mail["Message-ID"].endswith("@example.com>") and mail["Date"]
    assert mail.get_content_type() == "multipart/alternative"
    text_part, html_part = mail.iter_parts()
    assert text_part.get_content_type() == "text/plain"
    assert html_part.get_content_type() == "text/html"
    text, html = text_part.get_content(), html_part.get_content()
    assert "idle for 30 days" in text and "**" not in text
    assert "dév &lt;b&gt;&amp;&lt;/b&gt;" in html and "<b>&</b>" not in html
    assert "Acme Cloud" in html and "Notification settings" in html
    assert ">View workspaces</a>" in html and 'href="http://' in html

    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith(running.url + "/unsubscribe/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in text and unsubscribe in html

    async with running.http.get(unsubscribe) as page:  # a GET changes nothing
        assert page.status == 200 and "Unsubscribe?" in await page.text()
    second = await _event(running, "second")
    assert second["status"] == "pending"

    async with running.http.post(
        unsubscribe,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
    ) as answer:
        assert answer.status == 200 and "You are unsubscribed" in await answer.text()
    third = await _event(running, "third")
    assert third["status"] == "inhibited"
    status, message = await running.call("GET", f"/api/v1/messages/{third['id']}")
    assert "opted out" in message["status_reason"]
    status, prefs = await running.call("GET", f"/api/v1/users/{message['user_id']}/preferences")
    assert status == 200 and "workspace_deleted" in str(prefs)

    async with running.http.post(unsubscribe[:-4] + "AAAA") as forged:
        assert forged.status == 404 and "not valid" in await forged.text()

    await _look_at(browser, html)


async def _look_at(browser: Browser, html: str) -> None:
    """Open the email in Chromium at desktop and phone widths; keep screenshots."""
    for name, width in (("desktop", 900), ("phone", 375)):
        page = await browser.new_page(viewport={"width": width, "height": 800})
        await page.set_content(html, wait_until="load")
        card = await page.locator("table.card").bounding_box()
        button = await page.get_by_role("link", name="View workspaces").bounding_box()
        scroll_width = await page.evaluate("document.documentElement.scrollWidth")
        await page.screenshot(path=str(ARTIFACTS / f"email-{name}.png"), full_page=True)
        assert card is not None and button is not None
        assert scroll_width <= width, f"{name}: the email scrolls sideways"
        assert card["width"] <= 600 and card["x"] + card["width"] <= width
        if width < 600:
            assert card["width"] >= width - 30  # the card fills a phone's screen
        else:
            assert card["x"] > 100  # centred on a wide screen
        inside = button["x"] >= card["x"] and button["x"] + button["width"] <= (
            card["x"] + card["width"]
        )
        assert inside and button["height"] >= 30  # a button, not a bare link
        await page.close()
