"""The test notification: sent to the caller, and limited per user."""

from __future__ import annotations

from clarion.ratelimit import TEST_NOTIFICATIONS_PER_MINUTE


async def test_test_notifications_are_limited_per_user(start_server) -> None:
    running = await start_server(method="inbox", dispatch=False)
    tokens = []
    for email in ("ann@example.com", "bob@example.com"):
        user = await running.create_user(email)
        status, token = await running.call("POST", f"/api/v1/users/{user['id']}/tokens", json={})
        assert status == 201, token
        tokens.append(token["token"])
    ann, bob = tokens

    for _ in range(TEST_NOTIFICATIONS_PER_MINUTE):
        status, body = await running.call("POST", "/api/v1/notifications/test", token=ann)
        assert status == 202, body
    async with running.http.post(
        running.url + "/api/v1/notifications/test", headers={"Authorization": f"Bearer {ann}"}
    ) as refused:
        assert refused.status == 429
        assert 0 < int(refused.headers["Retry-After"]) <= 60
        detail = (await refused.json())["detail"]
    assert "too many test notifications" in detail and "a minute" in detail
    status, body = await running.call("POST", "/api/v1/notifications/test", token=bob)
    assert status == 202, body  # another user has their own allowance


async def test_the_test_notification_allowance_comes_back_after_a_minute(start_server) -> None:
    running = await start_server(method="inbox", dispatch=False)
    clock = [0.0]
    limiter = running.service.limits.test_notifications
    limiter.clock = lambda: clock[0]
    user = await running.create_user("ann@example.com")
    _, token = await running.call("POST", f"/api/v1/users/{user['id']}/tokens", json={})
    for _ in range(TEST_NOTIFICATIONS_PER_MINUTE):
        status, _ = await running.call("POST", "/api/v1/notifications/test", token=token["token"])
        assert status == 202
    status, _ = await running.call("POST", "/api/v1/notifications/test", token=token["token"])
    assert status == 429
    clock[0] += 60
    status, _ = await running.call("POST", "/api/v1/notifications/test", token=token["token"])
    assert status == 202
