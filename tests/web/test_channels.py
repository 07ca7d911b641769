"""Team channels in the pages, in headless Chromium: add a Slack webhook with Test Connection
against the local Slack fake, edit it without retyping its secret, test it, remove it."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.conftest import ADMIN_TOKEN, ARTIFACTS
from tests.fakes.chat import FakeSlack
from tests.fakes.sink import HttpSink


async def _signed_in(browser: Browser, running: Any) -> Page:
    page = await browser.new_page(viewport={"width": 1100, "height": 1000})
    await page.goto(running.url + "/admin/channels")
    await page.get_by_label("API token").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Channels")).to_be_visible()
    return page


async def test_add_test_edit_and_remove_a_slack_channel(
    start_server, slack: FakeSlack, browser: Browser
) -> None:
    running = await start_server(dispatch=False)
    page = await _signed_in(browser, running)
    await page.get_by_role("link", name="Add channel").click()
    await page.get_by_role("link", name="Slack (incoming webhook)").click()

    # A wrong URL: Test Connection shows Slack's own answer; nothing is saved.
    await page.get_by_label("Name *").fill("ops")
    await page.get_by_label("Webhook URL *").fill(slack.url + "/services/T0/B0/wrong")
    await page.get_by_role("button", name="Test connection").click()
    await expect(page.get_by_role("status")).to_contain_text("Test failed.")
    await expect(page.get_by_role("status")).to_contain_text("no_service")

    await page.get_by_label("Webhook URL *").fill(slack.webhook_url)
    await page.get_by_role("button", name="Test connection").click()
    await expect(page.get_by_role("status")).to_contain_text("Test message sent.")
    assert len(slack.received) == 2 and b"Test Notification" in slack.received[1].body
    # The secret is not sent back to the page, yet Save uses what was typed.
    assert slack.SECRET not in await page.content()
    await expect(page.get_by_label("Webhook URL *")).to_have_value("")
    await page.get_by_label("Deploy Failed").check()
    await page.screenshot(path=str(ARTIFACTS / "channel-form.png"), full_page=True)
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Saved ops.")

    status, listed = await running.call("GET", "/api/v1/channels")
    [channel] = listed["items"]
    assert channel["kind"] == "slack" and channel["events"] == ["deploy_failed"]
    assert channel["config"]["webhook_url"] == {"set": True}

    # Edit the name, leave the secret empty: it keeps the stored URL.
    await page.get_by_role("link", name="ops").click()
    await expect(page.get_by_text("Set: leave empty to keep it.")).to_be_visible()
    await page.get_by_label("Name *").fill("ops-alerts")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Saved ops-alerts.")
    await page.get_by_role("form", name="Test ops-alerts").get_by_role("button").click()
    await expect(page.get_by_role("status")).to_contain_text("ops-alerts: test message sent.")
    assert len(slack.received) == 3

    await page.get_by_role("link", name="Remove").click()
    await page.get_by_role("button", name="Remove channel").click()
    await expect(page.get_by_role("status")).to_have_text("Removed ops-alerts.")
    status, _ = await running.call("GET", f"/api/v1/channels/{channel['id']}")
    assert status == 404
    await page.close()


async def test_an_invalid_config_names_each_field(start_server, browser: Browser) -> None:
    running = await start_server(dispatch=False)
    page = await _signed_in(browser, running)
    await page.goto(running.url + "/admin/channels/new?kind=webhook")
    await page.get_by_label("Name *").fill("hook")
    await page.get_by_label("Endpoint *").fill("not a url")
    await page.get_by_label("Headers").fill("X-Token abc")
    await page.get_by_role("button", name="Save").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Not saved.")
    # Headers are secret: the bad line is named, never shown.
    await expect(alert).to_contain_text("config.headers: line 1 is not 'Name: value'")
    assert "X-Token abc" not in await page.content()
    await expect(alert).to_contain_text("config.endpoint")
    await expect(page.get_by_label("Endpoint *")).to_have_value("not a url")  # kept to fix
    # A NUL (which PostgreSQL cannot store) and a malformed id each get a page, not a 500.
    answer = await page.request.post(
        running.url + "/admin/channels/new?kind=webhook",
        form={"name": "a\x00b", "config.endpoint": "http://127.0.0.1:9/x"},
        headers={"Origin": running.url},
    )
    assert answer.status == 422 and "NUL" in await answer.text()
    answer = await page.request.post(  # past the input's maxlength, as a script could
        running.url + "/admin/channels/new?kind=webhook",
        form={"name": "h" * 201, "config.endpoint": "http://127.0.0.1:9/x"},
        headers={"Origin": running.url},
    )
    assert answer.status == 422 and "name: at most 200 characters" in await answer.text()
    answer = await page.request.get(running.url + "/admin/channels/not-an-id")
    assert answer.status == 404 and "text/html" in answer.headers["content-type"]
    assert (await running.call("GET", "/api/v1/channels"))[1]["items"] == []
    await page.close()


async def test_an_optional_secret_can_be_removed(
    start_server, sink: HttpSink, browser: Browser
) -> None:
    running = await start_server(dispatch=False)
    status, channel = await running.call(
        "POST",
        "/api/v1/channels",
        json={
            "name": "hook",
            "kind": "webhook",
            "config": {"endpoint": sink.url + "/in", "secret": "whsec_" + "A" * 32},
            "events": ["deploy_failed"],
        },
    )
    assert status == 201 and channel["config"]["secret"] == {"set": True}
    page = await _signed_in(browser, running)
    await page.goto(f"{running.url}/admin/channels/{channel['id']}")
    await page.get_by_label("Remove the stored secret").check()
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Saved hook.")
    status, found = await running.call("GET", f"/api/v1/channels/{channel['id']}")
    assert found["config"]["secret"] == {"set": False}
    assert found["events"] == ["deploy_failed"]  # the rest kept
    await page.close()


async def test_moving_a_channel_asks_for_its_secrets_again(
    start_server, sink: HttpSink, browser: Browser
) -> None:
    elsewhere = await HttpSink().start()
    try:
        running = await start_server(dispatch=False)
        status, channel = await running.call(
            "POST",
            "/api/v1/channels",
            json={
                "name": "phones",
                "kind": "gotify",
                "config": {"server_url": sink.url, "app_token": "AstoredToken"},
                "events": [],
            },
        )
        assert status == 201, channel
        page = await _signed_in(browser, running)
        await page.goto(f"{running.url}/admin/channels/{channel['id']}")
        await page.get_by_label("Server URL *").fill(elsewhere.url)
        # Neither Test Connection nor Save sends the stored token to the new server.
        await page.get_by_role("button", name="Test connection").click()
        await expect(page.get_by_role("alert")).to_contain_text("config.app_token: give it again")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("alert")).to_contain_text("config.app_token: give it again")
        assert elsewhere.received == [] and sink.received == []
        _, found = await running.call("GET", f"/api/v1/channels/{channel['id']}")
        assert found["config"]["server_url"] == sink.url

        # As a script would post it, past the page.
        answer = await page.request.post(
            f"{running.url}/admin/channels/{channel['id']}",
            form={"name": "phones", "config.server_url": elsewhere.url, "do": "save"},
            headers={"Origin": running.url},
        )
        assert answer.status == 422 and "config.app_token" in await answer.text()

        await page.get_by_label("App token *").fill("AnewToken")
        await page.get_by_role("button", name="Test connection").click()
        await expect(page.get_by_role("status")).to_contain_text("Test message sent.")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("Saved phones.")
        assert [r.headers["X-Gotify-Key"] for r in elsewhere.received] == ["AnewToken"]
        assert sink.received == []
        await page.close()
    finally:
        await elsewhere.stop()
