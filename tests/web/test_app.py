"""The signed-in web pages in headless Chromium: a member's inbox and settings, an operator's
message log, event types and pause switch; sessions end with the token behind them."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import ADMIN_TOKEN, ARTIFACTS
from tests.fakes.sink import Reply


async def _token(running: Any, user: dict[str, Any]) -> dict[str, Any]:
    status, token = await running.call("POST", f"/api/v1/users/{user['id']}/tokens", json={})
    assert status == 201, token
    return dict(token)


async def _sign_in(page: Page, url: str, token: str) -> None:
    await page.goto(url + "/")
    assert "/signin?next=%2F" in page.url
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Sign in").click()


async def test_a_member_reads_the_inbox_and_chooses_notifications(
    start_server, browser: Browser
) -> None:
    running = await start_server(method="inbox")
    zoe = await running.create_user("zoe@example.com", name="Zoë")
    token = await _token(running, zoe)
    for name in ("alpha", "<script>beta</script>"):
        event = await running.post_deleted("zoe@example.com", name=name)
        await running.wait_status(event["messages"][0]["id"], {"sent"})

    page = await browser.new_page(viewport={"width": 390, "height": 844})
    await page.goto(running.url + "/")
    await page.get_by_label("API token").fill("clarion_wrong")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("unknown, expired")
    await page.get_by_label("API token").fill(token["token"])
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    await expect(page.get_by_role("link", name="Inbox (2)")).to_be_visible()
    items = page.get_by_role("article")
    await expect(items).to_have_count(2)
    beta = page.get_by_role("heading", name='Workspace "<script>beta</script>" deleted')
    await expect(beta).to_be_visible()  # the label is text, not markup
    await expect(page.get_by_role("link", name="Message log")).to_have_count(0)  # not an admin
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.screenshot(path=str(ARTIFACTS / "inbox-phone.png"), full_page=True)

    first = page.get_by_role("article", name='Workspace "alpha" deleted')
    await first.get_by_role("button", name="Mark as read").click()
    await expect(page.get_by_role("link", name="Inbox (1)")).to_be_visible()
    await expect(first.get_by_role("button", name="Mark as read")).to_have_count(0)
    await page.get_by_role("button", name="Mark all as read").click()
    await expect(page.get_by_role("link", name="Inbox", exact=True)).to_be_visible()
    status, inbox = await running.call("GET", "/api/v1/inbox", token=token["token"])
    assert status == 200 and inbox["unread_count"] == 0

    await page.get_by_role("link", name="Notification settings").click()
    await page.get_by_role("checkbox", name="Workspace Deleted").uncheck()
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Your choices are saved.")
    assert page.url.endswith("/settings/notifications?saved=1")  # no token in the address
    status, prefs = await running.call("GET", f"/api/v1/users/{zoe['id']}/preferences")
    assert "workspace_deleted" in prefs["disabled"]

    response = await page.goto(running.url + "/admin/messages")
    assert response is not None and response.status == 403

    await page.goto(running.url + "/")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await page.goto(running.url + "/")
    assert "/signin" in page.url
    await page.close()


async def test_an_operator_troubleshoots_and_pauses(start_server, sink, browser: Browser) -> None:
    running = await start_server(method="webhook", webhook_endpoint=sink.url + "/hook")
    await running.create_user("ann@example.com")
    sink.responder = lambda n, r: Reply(400, "bad payload")  # permanent; the log shows why
    failed = await running.post_deleted("ann@example.com", name="broken")
    await running.wait_status(failed["messages"][0]["id"], {"permanent_failure"})
    sink.responder = lambda n, r: Reply()
    sent = await running.post_deleted("ann@example.com", name="fine")
    await running.wait_status(sent["messages"][0]["id"], {"sent"})

    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    # Signing in comes back to the page asked for, its query intact.
    await page.goto(running.url + "/admin/messages?method=web%68ook")
    await page.get_by_label("API token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Message log")).to_be_visible()
    assert page.url.endswith("/admin/messages?method=web%68ook")
    await expect(page.get_by_label("Method")).to_have_value("webhook")
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(2)
    # The queue at a glance: a count per status, each a link to those messages.
    queue = page.get_by_label("Queue")
    await expect(queue.get_by_role("link", name=re.compile(r"^pending \d+$"))).to_be_visible()
    await queue.get_by_role("link", name=re.compile(r"^permanent_failure \d+$")).click()
    await expect(rows).to_have_count(1)
    await expect(page.get_by_label("Status")).to_have_value("permanent_failure")
    await page.get_by_role("link", name="Clear").click()
    await expect(rows).to_have_count(2)
    await page.get_by_label("Status").select_option("permanent_failure")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("400")
    await page.screenshot(path=str(ARTIFACTS / "message-log.png"), full_page=True)
    await rows.first.get_by_role("link").click()
    await expect(page.get_by_role("heading", name='Workspace "broken" deleted')).to_be_visible()
    await expect(page.get_by_text("permanent_failure").first).to_be_visible()
    await expect(page.locator("table")).to_contain_text("bad payload")
    # Mended at the provider's end: the operator sends it again from its page.
    await page.get_by_role("button", name="Send again").click()
    await running.wait_status(failed["messages"][0]["id"], {"sent"})
    await page.reload()
    await expect(page.locator("table")).to_contain_text("at the request of the admin token")
    await expect(page.get_by_role("button", name="Send again")).to_have_count(0)

    await page.get_by_role("link", name="Event types").click()
    form = page.get_by_role("form", name="Workspace Deleted")
    await form.get_by_label("Enabled").uncheck()
    await form.get_by_label("Method").select_option("inbox")
    await form.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Saved Workspace Deleted.")
    status, found = await running.call("GET", "/api/v1/event-types/workspace_deleted")
    assert status == 200 and found["enabled"] is False and found["method"] == "inbox"

    await page.get_by_role("button", name="Pause delivery").click()
    await expect(page.get_by_text("Delivery is paused.")).to_be_visible()
    status, settings = await running.call("GET", "/api/v1/notifications/settings")
    assert settings == {"paused": True}
    await page.get_by_role("button", name="Resume delivery").click()
    await expect(page.get_by_text("Delivery is paused.")).to_have_count(0)
    status, settings = await running.call("GET", "/api/v1/notifications/settings")
    assert settings == {"paused": False}
    await page.close()


async def test_sessions_follow_their_token_and_refuse_other_sites(
    start_server, browser: Browser
) -> None:
    running = await start_server(dispatch=False)
    olga = await running.create_user("olga@example.com", roles=["owner"])
    token = await _token(running, olga)
    context = await browser.new_context()
    page = await context.new_page()
    await _sign_in(page, running.url, token["token"])
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    cookie = next(c for c in await context.cookies() if c["name"] == "clarion_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert token["token"] not in cookie["value"]  # sealed, not readable

    # A form posted from another site is refused even with the cookie.
    session = {"Cookie": f"clarion_session={cookie['value']}"}
    for origin, status in (("http://evil.example", 403), (running.url, 303)):
        async with running.http.post(
            running.url + "/admin/pause",
            data={"paused": "true"},
            headers={**session, "Origin": origin},
            allow_redirects=False,
        ) as answer:
            assert answer.status == status
    status, settings = await running.call("GET", "/api/v1/notifications/settings")
    assert settings == {"paused": True}  # only the same-site post took effect

    # Signing out is a same-site form too: another site cannot sign you out.
    async with running.http.post(
        running.url + "/signout",
        headers={**session, "Origin": "http://evil.example"},
        allow_redirects=False,
    ) as answer:
        assert answer.status == 303 and "clarion_session" not in answer.headers.get(
            "Set-Cookie", ""
        )

    # Revoking the token ends the session on the next page.
    status, _ = await running.call("DELETE", f"/api/v1/users/{olga['id']}/tokens/{token['id']}")
    assert status == 204
    await page.goto(running.url + "/admin/messages")
    assert "/signin?next=%2Fadmin%2Fmessages" in page.url
    await context.close()


@pytest.mark.parametrize("path", ["/", "/admin/messages", "/admin/event-types"])
async def test_pages_send_you_to_sign_in(start_server, path: str) -> None:
    running = await start_server(dispatch=False)
    async with running.http.get(running.url + path, allow_redirects=False) as answer:
        assert answer.status == 303
        assert answer.headers["Location"].startswith("/signin?next=")


async def test_the_inbox_page_shows_new_notifications_as_they_arrive(
    start_server, browser: Browser
) -> None:
    running = await start_server(method="inbox")
    zoe = await running.create_user("zoe@example.com", name="Zoë")
    token = await _token(running, zoe)
    page = await browser.new_page()
    await _sign_in(page, running.url, token["token"])
    await expect(page.get_by_text("Nothing here yet.")).to_be_visible()

    event = await running.post_deleted("zoe@example.com", name="<b>live</b>")
    await running.wait_status(event["messages"][0]["id"], {"sent"})
    item = page.get_by_role("article", name='Workspace "<b>live</b>" deleted')
    await expect(item).to_be_visible()  # no reload
    await expect(page.get_by_role("link", name="Inbox (1)")).to_be_visible()
    await expect(page.get_by_text("Nothing here yet.")).to_have_count(0)
    await expect(item.get_by_role("link", name="View workspaces")).to_have_attribute(
        "href", re.compile(r"^http://")
    )
    await item.get_by_role("button", name="Mark as read").click()
    await expect(page.get_by_role("link", name="Inbox", exact=True)).to_be_visible()
    status, inbox = await running.call("GET", "/api/v1/inbox", token=token["token"])
    assert status == 200 and inbox["unread_count"] == 0
    await page.close()


async def test_the_pages_stream_ends_with_the_session(start_server, browser: Browser) -> None:
    running = await start_server(method="inbox", stream_heartbeat="200ms")
    zoe = await running.create_user("zoe@example.com")
    token = await _token(running, zoe)
    context = await browser.new_context()
    page = await context.new_page()
    await _sign_in(page, running.url, token["token"])
    cookie = next(c for c in await context.cookies() if c["name"] == "clarion_session")
    headers = {"Cookie": f"clarion_session={cookie['value']}"}
    async with running.http.get(running.url + "/inbox/stream", headers=headers) as stream:
        assert stream.status == 200
        assert (await stream.content.readline()).startswith(b": connected")
        status, _ = await running.call("DELETE", f"/api/v1/users/{zoe['id']}/tokens/{token['id']}")
        assert status == 204
        rest = await asyncio.wait_for(stream.content.read(), 5)  # ends, does not hang
    assert b"notification" not in rest
    await context.close()
