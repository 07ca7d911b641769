"""The settings page a user opens from any email: choose what you receive, no login.

A real server mails through aiosmtpd; the settings link is taken from the received email
and opened in headless Chromium, where the user unticks, ticks and saves.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Browser, Page, expect

from clarion.links import SETTINGS_LINK_SECONDS
from tests.conftest import ARTIFACTS
from tests.fakes.smtp import RecordingHandler, start_smtp


@pytest.fixture
def smtp_server() -> Any:
    controller, handler = start_smtp()
    yield controller, handler
    controller.stop()


async def _settings_link(handler: RecordingHandler) -> str:
    for _ in range(200):
        if handler.messages:
            text_part, html_part = handler.messages[0].message.iter_parts()
            found = re.search(r"Notification settings: (\S+)", text_part.get_content())
            assert found, text_part.get_content()
            assert f'href="{found[1]}"' in html_part.get_content()
            return found[1]
        await asyncio.sleep(0.05)
    raise AssertionError("no mail arrived")


async def _disabled(running: Any, user_id: str) -> list[str]:
    status, prefs = await running.call("GET", f"/api/v1/users/{user_id}/preferences")
    assert status == 200, prefs
    return list(prefs["disabled"])


async def _save(page: Page) -> None:
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Your choices are saved.")


async def test_a_user_changes_what_they_receive_from_the_emails_link(
    start_server, smtp_server, browser: Browser
) -> None:
    controller, handler = smtp_server
    running = await start_server(
        method="smtp",
        email_from="alerts@example.com",
        email_smarthost=f"127.0.0.1:{controller.port}",
    )
    zoe = await running.create_user("zoe@example.com", name="Zoë Straße")
    # Choices the page does not show must survive a save: through the API Zoë turned on the
    # off-by-default types (owners' types; she is a member).
    status, _ = await running.call(
        "PUT", f"/api/v1/users/{zoe['id']}/preferences", json={"disabled": []}
    )
    assert status == 200
    status, _ = await running.call(
        "PUT", "/api/v1/event-types/workspace_dormant", json={"enabled": False}
    )
    assert status == 200
    first = await running.post_deleted("zoe@example.com", name="first")
    await running.wait_status(first["messages"][0]["id"], {"sent"})
    link = await _settings_link(handler)
    assert link.startswith(running.url + "/settings/notifications?token=")

    page = await browser.new_page(viewport={"width": 375, "height": 800})
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Notification settings")).to_be_visible()
    await expect(page.get_by_text("Zoë Straße <zoe@example.com>")).to_be_visible()
    deleted = page.get_by_role("checkbox", name="Workspace Deleted")
    await expect(deleted).to_be_checked()
    dormant = page.get_by_role("checkbox", name="Workspace Marked as Dormant")
    await expect(dormant).to_be_disabled()
    await expect(dormant).not_to_be_checked()
    await expect(page.get_by_text("Turned off for everyone by your administrator.")).to_be_visible()
    await expect(page.get_by_role("group", name="Task Events")).to_be_visible()
    # Only what can reach a member: no owners' types, no team-channel types, and nothing
    # that is always sent.
    for absent in ("Template Deleted", "Workspace Created", "Deploy Failed", "One-Time Passcode"):
        await expect(page.get_by_role("checkbox", name=absent)).to_have_count(0)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375

    await deleted.uncheck()
    await _save(page)
    assert "saved=1" in page.url
    await expect(page.get_by_role("checkbox", name="Workspace Deleted")).not_to_be_checked()
    await page.screenshot(path=str(ARTIFACTS / "settings-phone.png"), full_page=True)
    assert await _disabled(running, zoe["id"]) == ["workspace_deleted"]
    second = await running.post_deleted("zoe@example.com", name="second")
    assert second["messages"][0]["status"] == "inhibited"

    await page.get_by_role("checkbox", name="Workspace Deleted").check()
    await _save(page)
    assert await _disabled(running, zoe["id"]) == []
    third = await running.post_deleted("zoe@example.com", name="third")
    assert third["messages"][0]["status"] == "pending"
    await page.close()


async def test_an_owner_turns_on_an_off_by_default_type(start_server, browser: Browser) -> None:
    running = await start_server(dispatch=False)
    olga = await running.create_user("olga@example.com", roles=["owner"], name="Olga")
    assert "workspace_created" in await _disabled(running, olga["id"])

    page = await browser.new_page(viewport={"width": 1000, "height": 900})
    await page.goto(running.service.links.settings_url(olga["id"]))
    created = page.get_by_role("checkbox", name="Workspace Created")
    await expect(created).not_to_be_checked()
    await expect(page.get_by_text("Off unless you turn it on.").first).to_be_visible()
    await expect(page.get_by_role("checkbox", name="Template Deleted")).to_be_checked()
    await created.check()
    await page.get_by_role("checkbox", name="Template Deleted").uncheck()
    await _save(page)
    await page.screenshot(path=str(ARTIFACTS / "settings-desktop.png"), full_page=True)
    disabled = await _disabled(running, olga["id"])
    assert "workspace_created" not in disabled and "template_deleted" in disabled
    await page.close()


async def test_links_that_open_nothing_say_why_and_change_nothing(start_server) -> None:
    running = await start_server(dispatch=False)
    zoe = await running.create_user("zoe@example.com")
    links = running.service.links
    page = f"{running.url}/settings/notifications"

    async with running.http.get(page) as bare:  # a team address's footer link
        assert bare.status == 200 and "administrator" in await bare.text()
        assert bare.headers["Cache-Control"] == "no-store"
        assert bare.headers["X-Frame-Options"] == "DENY"
    valid = parse_qs(urlsplit(links.settings_url(zoe["id"])).query)["token"][0]
    body = json.dumps({"p": "settings", "u": zoe["id"]}).encode()
    old = int(time.time()) - SETTINGS_LINK_SECONDS - 60
    expired = links.box.keys.encrypt_at_time(body, old).decode()
    cases = {
        valid[:-4] + "AAAA": 404,  # forged
        valid[:40]: 404,  # cut short by a mail program
        links.unsubscribe_token(zoe["id"], "workspace_deleted"): 404,  # another purpose
        expired: 410,
    }
    for token, status in cases.items():
        async with running.http.get(page, params={"token": token}) as answer:
            assert answer.status == status, await answer.text()
        async with running.http.post(
            page, params={"token": token}, data={"on": "task_idle"}, allow_redirects=False
        ) as answer:
            assert answer.status == status
    assert await _disabled(running, zoe["id"]) == [
        "workspace_created",
        "workspace_manually_updated",
    ]

    # A type posted that the page does not offer this user is ignored, not an error.
    async with running.http.post(
        page, params={"token": valid}, data={"on": "deploy_failed"}, allow_redirects=False
    ) as answer:
        assert answer.status == 303
        assert answer.headers["Location"].endswith("&saved=1")
    assert "workspace_deleted" in await _disabled(running, zoe["id"])  # nothing ticked: all off

    # An old unsubscribe link cannot mint a fresh settings link: the one it shows is dated
    # as the unsubscribe link, so it has expired too.
    body = json.dumps({"p": "unsubscribe", "u": zoe["id"], "t": "task_idle"}).encode()
    unsubscribe = links.box.keys.encrypt_at_time(body, old).decode()
    async with running.http.get(f"{running.url}/unsubscribe/{unsubscribe}") as confirm:
        found = re.search(
            r'href="([^"]*/settings/notifications\?token=[^"]+)"', await confirm.text()
        )
    assert confirm.status == 200 and found
    async with running.http.get(found[1].replace("&amp;", "&")) as stale:
        assert stale.status == 410

    status, _ = await running.call("DELETE", f"/api/v1/users/{zoe['id']}")
    assert status in (200, 204)
    async with running.http.get(page, params={"token": valid}) as gone:
        assert gone.status == 404
