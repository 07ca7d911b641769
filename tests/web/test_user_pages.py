"""Users in the pages, in headless Chromium: add one, give them a token they sign in with,
suspend, activate and delete them, with Coder's user events as through the API."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.conftest import ADMIN_TOKEN


async def test_an_admin_onboards_and_offboards_a_user(start_server, browser: Browser) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("olga@example.com", roles=["owner"], username="olga")
    admin = await browser.new_page(viewport={"width": 1100, "height": 900})
    await admin.goto(running.url + "/admin/users")
    await admin.get_by_label("API token").fill(ADMIN_TOKEN)
    await admin.get_by_role("button", name="Sign in").click()
    await expect(admin.get_by_role("heading", name="Users")).to_be_visible()

    form = admin.get_by_role("form", name="Add a user")
    await form.get_by_label("Email").fill("not-an-email")
    await form.get_by_role("button", name="Add user").click()
    await expect(admin.get_by_role("alert")).to_contain_text("email")
    await expect(form.get_by_label("Email")).to_have_value("not-an-email")  # kept to fix
    await form.get_by_label("Email").fill("zoe@example.com")
    await form.get_by_label("Name", exact=True).fill("Zoë")
    await form.get_by_role("button", name="Add user").click()
    await expect(admin.get_by_role("status")).to_have_text("Added zoe@example.com.")
    status, found = await running.call("GET", "/api/v1/users/zoe@example.com")
    assert status == 200 and found["roles"] == ["member"] and found["name"] == "Zoë"
    # As through the API: the owner hears of the new account, initiated by the admin token.
    _, log = await running.call("GET", "/api/v1/messages?event_type=user_account_created")
    newest = log["items"][0]  # the one before it told Olga of her own account
    assert newest["recipient"] == "olga@example.com" and "zoe" in newest["title"]

    await (
        admin.get_by_role("form", name="New token for zoe@example.com")
        .get_by_role("button")
        .click()
    )
    token = (await admin.get_by_label("API token").text_content() or "").strip()
    assert token.startswith("clarion_")
    zoe = await browser.new_page()
    await zoe.goto(running.url + "/")
    await zoe.get_by_label("API token").fill(token)
    await zoe.get_by_role("button", name="Sign in").click()
    await expect(zoe.get_by_role("heading", name="Inbox")).to_be_visible()

    await admin.goto(running.url + "/admin/users")
    await admin.get_by_role("form", name="Suspend zoe@example.com").get_by_role("button").click()
    await expect(admin.get_by_role("status")).to_have_text("Suspended zoe@example.com.")
    await zoe.reload()
    assert "/signin" in zoe.url  # a suspended user's session ends
    _, log = await running.call("GET", "/api/v1/messages?event_type=your_account_suspended")
    assert [m["recipient"] for m in log["items"]] == ["zoe@example.com"]
    await admin.get_by_role("form", name="Activate zoe@example.com").get_by_role("button").click()
    await expect(admin.get_by_role("status")).to_have_text("Activated zoe@example.com.")

    await (
        admin.get_by_role("row", name="zoe@example.com").get_by_role("link", name="Delete").click()
    )
    await admin.get_by_role("button", name="Delete user").click()
    await expect(admin.get_by_role("status")).to_have_text("Deleted zoe@example.com.")
    status, found = await running.call("GET", "/api/v1/users/zoe@example.com")
    assert found["status"] == "deleted"


async def test_only_an_owner_grants_the_owner_role(start_server, browser: Browser) -> None:
    running = await start_server(dispatch=False)
    ula = await running.create_user("ula@example.com", roles=["user-admin"])
    _, token = await running.call("POST", f"/api/v1/users/{ula['id']}/tokens", json={})
    page = await browser.new_page()
    await page.goto(running.url + "/admin/users")
    await page.get_by_label("API token").fill(token["token"])
    await page.get_by_role("button", name="Sign in").click()
    form = page.get_by_role("form", name="Add a user")
    await form.get_by_label("Email").fill("boss@example.com")
    await form.get_by_label("owner").check()
    await form.get_by_role("button", name="Add user").click()
    await expect(page.get_by_role("alert")).to_have_text("only an owner can grant the owner role")
    status, _ = await running.call("GET", "/api/v1/users/boss@example.com")
    assert status == 404


async def test_a_user_admin_mints_no_token_for_another_user(start_server, browser: Browser) -> None:
    running = await start_server(dispatch=False)
    ula = await running.create_user("ula@example.com", roles=["user-admin"])
    udo = await running.create_user("udo@example.com", roles=["user-admin"])
    await running.create_user("mo@example.com")
    _, token = await running.call("POST", f"/api/v1/users/{ula['id']}/tokens", json={})
    page = await browser.new_page(viewport={"width": 1100, "height": 900})
    await page.goto(running.url + "/admin/users")
    await page.get_by_label("API token").fill(token["token"])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Users")).to_be_visible()
    # Offered for herself only.
    await expect(page.get_by_role("form", name="New token for ula@example.com")).to_have_count(1)
    for other in ("udo@example.com", "mo@example.com"):
        await expect(page.get_by_role("form", name=f"New token for {other}")).to_have_count(0)
    # Posted anyway, from the page's own origin: refused, and nothing is minted.
    answer = await page.request.post(
        f"{running.url}/admin/users/{udo['id']}/tokens", headers={"Origin": running.url}
    )
    assert answer.status == 403
    assert "clarion_" not in await answer.text()
    _, listed = await running.call("GET", f"/api/v1/users/{udo['id']}/tokens")
    assert listed["items"] == []
