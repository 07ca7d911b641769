"""Who hears about what: Coder's recipient rules, preferences, admin switches, dedupe."""

from __future__ import annotations

import asyncio

LABELS = {"name": "dev", "reason": "idle", "initiator": "ops"}


async def _messages(running, **params) -> list[dict]:
    status, page = await running.call("GET", "/api/v1/messages", params={"limit": "500", **params})
    assert status == 200, page
    return list(page["items"])


async def test_user_suspension_reaches_admins_and_the_user(start_server) -> None:
    running = await start_server(dispatch=False)
    owner = await running.create_user("olive@example.com", roles=["owner"], username="olive")
    admin = await running.create_user("uma@example.com", roles=["user-admin"], username="uma")
    await running.create_user("tim@example.com", roles=["template-admin"], username="tim")
    member = await running.create_user("mel@example.com", username="mel")

    status, _ = await running.call(
        "PATCH", f"/api/v1/users/{member['id']}", json={"status": "suspended"}
    )
    assert status == 200
    admins = await _messages(running, event_type="user_account_suspended")
    assert sorted(m["recipient"] for m in admins) == ["olive@example.com", "uma@example.com"]
    own = await _messages(running, event_type="your_account_suspended")
    assert [m["recipient"] for m in own] == ["mel@example.com"]
    assert {m["user_id"] for m in admins} == {owner["id"], admin["id"]}
    # The template admin and the member hear nothing of the suspension beyond that.
    everyone = await _messages(running)
    tim = [m for m in everyone if m["recipient"] == "tim@example.com"]
    assert all(not m["event_type"].startswith(("user_account_susp", "your_")) for m in tim)

    # A suspended user receives nothing else.
    status, body = await running.call(
        "POST",
        "/api/v1/events",
        json={"type": "workspace_deleted", "user_email": "mel@example.com", "labels": LABELS},
    )
    assert status == 202 and body["messages"] == []


async def test_opt_out_admin_disable_and_method_override(start_server) -> None:
    running = await start_server(dispatch=False)
    user = await running.create_user("ann@example.com", username="ann")
    event = {"type": "workspace_deleted", "user_email": "ann@example.com", "labels": LABELS}

    status, prefs = await running.call(
        "PUT", f"/api/v1/users/{user['id']}/preferences", json={"disabled": ["workspace_deleted"]}
    )
    assert status == 200 and "workspace_deleted" in prefs["disabled"]
    _, body = await running.call("POST", "/api/v1/events", json=event)
    [message] = body["messages"]
    assert message["status"] == "inhibited"
    _, detail = await running.call("GET", f"/api/v1/messages/{message['id']}")
    assert "opted out" in detail["status_reason"]

    await running.call("PUT", f"/api/v1/users/{user['id']}/preferences", json={"disabled": []})
    status, _ = await running.call(
        "PUT", "/api/v1/event-types/workspace_deleted", json={"enabled": False}
    )
    assert status == 200
    _, body = await running.call(
        "POST", "/api/v1/events", json={**event, "labels": {**LABELS, "name": "b"}}
    )
    [message] = body["messages"]
    _, detail = await running.call("GET", f"/api/v1/messages/{message['id']}")
    assert (
        detail["status"] == "inhibited"
        and "disabled by an administrator" in detail["status_reason"]
    )

    await running.call(
        "PUT", "/api/v1/event-types/workspace_deleted", json={"enabled": True, "method": "inbox"}
    )
    _, body = await running.call(
        "POST", "/api/v1/events", json={**event, "labels": {**LABELS, "name": "c"}}
    )
    assert [(m["method"], m["status"]) for m in body["messages"]] == [("inbox", "pending")]
    _, types = await running.call("GET", "/api/v1/event-types")
    deleted = next(t for t in types["items"] if t["key"] == "workspace_deleted")
    assert deleted["method"] == "inbox" and deleted["effective_method"] == "inbox"

    status, body = await running.call(
        "PUT", "/api/v1/users/me/preferences", json={"disabled": ["nope"]}
    )
    assert status == 400  # the admin token has no user of its own
    status, body = await running.call(
        "PUT", f"/api/v1/users/{user['id']}/preferences", json={"disabled": ["nope"]}
    )
    assert status == 422 and "nope" in body["detail"]


async def test_must_send_types_cannot_be_opted_out_of(start_server) -> None:
    """Accepted and echoed, yet the notification was sent: the preference was a lie."""
    running = await start_server(dispatch=False)
    user = await running.create_user("ann@example.com", username="ann")
    path = f"/api/v1/users/{user['id']}/preferences"
    for key in ("test_notification", "user_one_time_passcode"):
        status, body = await running.call("PUT", path, json={"disabled": [key]})
        assert status == 422 and key in body["detail"]
    _, prefs = await running.call("GET", path)
    assert "test_notification" not in prefs["disabled"]


async def test_off_by_default_types_need_an_explicit_opt_in(start_server) -> None:
    running = await start_server(dispatch=False)
    user = await running.create_user("ann@example.com", username="ann")
    _, prefs = await running.call("GET", f"/api/v1/users/{user['id']}/preferences")
    assert "workspace_created" in prefs["disabled"]
    _, prefs = await running.call(
        "PUT", f"/api/v1/users/{user['id']}/preferences", json={"disabled": []}
    )
    assert prefs["disabled"] == []
    _, prefs = await running.call("GET", f"/api/v1/users/{user['id']}/preferences")
    assert prefs["disabled"] == []


async def test_identical_events_the_same_day_give_one_message(start_server) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    event = {"type": "workspace_deleted", "user_email": "ann@example.com", "labels": LABELS}
    answers = await asyncio.gather(
        *(running.call("POST", "/api/v1/events", json=event) for _ in range(20))
    )
    assert {status for status, _ in answers} == {202}
    message_ids = {body["messages"][0]["id"] for _, body in answers}
    assert len(message_ids) == 1
    assert len(await _messages(running, event_type="workspace_deleted")) == 1


async def test_idempotency_key_returns_the_first_response(start_server) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    event = {"type": "test_notification", "user_email": "ann@example.com", "idempotency_key": "k-1"}
    answers = await asyncio.gather(
        *(running.call("POST", "/api/v1/events", json=event) for _ in range(20))
    )
    assert {status for status, _ in answers} == {202}
    bodies = {str(body) for _, body in answers}
    assert len(bodies) == 1
    assert len(await _messages(running, event_type="test_notification")) == 1
    # A different key is a different request.
    status, other = await running.call(
        "POST", "/api/v1/events", json={**event, "idempotency_key": "k-2"}
    )
    assert status == 202 and other["id"] != answers[0][1]["id"]
