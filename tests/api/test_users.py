"""Users, tokens and permissions."""

from __future__ import annotations


async def test_user_lifecycle_and_tokens(start_server) -> None:
    running = await start_server(dispatch=False)
    user = await running.create_user("Bob@Example.com", name="Bob")
    assert user["email"] == "bob@example.com" and user["username"] == "bob"
    assert user["roles"] == ["member"] and user["status"] == "active"

    status, answer = await running.call("POST", "/api/v1/users", json={"email": "bob@example.com"})
    assert status == 409 and "already exists" in answer["detail"]
    status, answer = await running.call("POST", "/api/v1/users", json={"email": "not-an-email"})
    assert status == 422 and "email" in answer["detail"]

    status, token = await running.call("POST", f"/api/v1/users/{user['id']}/tokens", json={})
    assert status == 201 and token["token"].startswith("clarion_")
    secret = token["token"]
    status, me = await running.call("GET", "/api/v1/users/me", token=secret)
    assert status == 200 and me["id"] == user["id"]
    # A member cannot act as an admin, nor see others.
    status, answer = await running.call("GET", "/api/v1/users", token=secret)
    assert status == 403 and "user-admin" in answer["detail"]
    other = await running.create_user("carol@example.com")
    status, _ = await running.call("GET", f"/api/v1/users/{other['id']}", token=secret)
    assert status == 403

    status, body = await running.call(
        "PATCH", "/api/v1/users/bob@example.com", json={"status": "suspended"}
    )
    assert status == 200 and body["status"] == "suspended"
    status, _ = await running.call("GET", "/api/v1/users/me", token=secret)
    assert status == 401  # a suspended user's tokens stop working
    status, body = await running.call("PATCH", "/api/v1/users/bob", json={"status": "active"})
    assert status == 200 and body["status"] == "active"
    status, _ = await running.call("DELETE", f"/api/v1/users/{user['id']}")
    assert status == 204
    status, body = await running.call("GET", f"/api/v1/users/{user['id']}")
    assert body["status"] == "deleted"


async def test_members_see_only_their_own_messages(start_server) -> None:
    running = await start_server(dispatch=False)
    ann = await running.create_user("ann@example.com")
    await running.create_user("bob@example.com")
    _, token = await running.call("POST", f"/api/v1/users/{ann['id']}/tokens", json={})
    for email in ("ann@example.com", "bob@example.com"):
        await running.post_deleted(email)
    status, page = await running.call("GET", "/api/v1/messages", token=token["token"])
    assert status == 200
    assert {m["user_id"] for m in page["items"]} == {ann["id"]}
    _, everything = await running.call("GET", "/api/v1/messages")
    bob_message = next(m for m in everything["items"] if m["recipient"] == "bob@example.com")
    status, _ = await running.call(
        "GET", f"/api/v1/messages/{bob_message['id']}", token=token["token"]
    )
    assert status == 404
    status, _ = await running.call(
        "POST", "/api/v1/events", token=token["token"], json={"type": "test_notification"}
    )
    assert status == 403


async def test_only_an_owner_manages_an_owner(start_server) -> None:
    running = await start_server(dispatch=False)
    olga = await running.create_user("olga@example.com", roles=["owner"])
    ula = await running.create_user("ula@example.com", roles=["user-admin"])
    _, token = await running.call("POST", f"/api/v1/users/{ula['id']}/tokens", json={})
    as_ula = token["token"]
    refused = [
        ("POST", f"/api/v1/users/{olga['id']}/tokens", {}),
        ("PATCH", f"/api/v1/users/{olga['id']}", {"status": "suspended"}),
        ("PATCH", f"/api/v1/users/{olga['id']}", {"roles": ["member"]}),
        ("DELETE", f"/api/v1/users/{olga['id']}", None),
    ]
    for method, path, body in refused:
        status, answer = await running.call(method, path, token=as_ula, json=body)
        assert status == 403 and "only an owner" in answer["detail"], (method, path)
    status, found = await running.call("GET", f"/api/v1/users/{olga['id']}")
    assert found["status"] == "active" and found["roles"] == ["owner"]
    # A user-admin still manages members, and an owner manages owners.
    member = await running.create_user("mo@example.com")
    status, _ = await running.call(
        "PATCH", f"/api/v1/users/{member['id']}", token=as_ula, json={"status": "suspended"}
    )
    assert status == 200
    status, _ = await running.call("POST", f"/api/v1/users/{olga['id']}/tokens", json={})
    assert status == 201


async def test_a_default_username_must_be_a_username(start_server) -> None:
    running = await start_server(dispatch=False)
    status, answer = await running.call(
        "POST", "/api/v1/users", json={"email": "x" * 101 + "@example.com"}
    )
    assert status == 422 and answer["detail"].startswith("username:")


async def test_names_with_line_breaks_or_control_characters_are_refused(start_server) -> None:
    """A name goes into email headers, where a line break would break every email to them."""
    running = await start_server(dispatch=False)
    bob = await running.create_user("bob@example.com", name="Bob")
    for bad in ("Ann\r\nBcc: eve@example.com", "Ann\u2028B", "Ann\x0bB", "Ann\x00", "A\x85B"):
        status, answer = await running.call(
            "POST", "/api/v1/users", json={"email": "ann@example.com", "name": bad}
        )
        assert status == 422 and "name" in str(answer["detail"]), (bad, answer)
        status, answer = await running.call(
            "PATCH", f"/api/v1/users/{bob['id']}", json={"name": bad}
        )
        assert status == 422 and "name" in str(answer["detail"]), (bad, answer)
    status, user = await running.call("GET", f"/api/v1/users/{bob['id']}")
    assert status == 200 and user["name"] == "Bob"
    status, _ = await running.call(
        "POST", "/api/v1/users", json={"email": "zoe@example.com", "name": "Zoë Straße-Ōta"}
    )
    assert status == 201
