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
    assert status == 404

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


async def test_an_offset_past_what_a_database_takes_is_a_422(start_server) -> None:
    running = await start_server(dispatch=False)
    for offset in ("99999999999999999999", str(2**31)):
        status, body = await running.call("GET", "/api/v1/users", params={"offset": offset})
        assert status == 422 and body["detail"].startswith("query.offset: "), body
    status, body = await running.call("GET", "/api/v1/users", params={"offset": str(2**31 - 1)})
    assert status == 200 and body["items"] == []


async def _token_of(running, user: dict) -> str:
    status, token = await running.call("POST", f"/api/v1/users/{user['id']}/tokens", json={})
    assert status == 201, token
    return str(token["token"])


async def test_an_owners_preferences_are_changed_only_by_owners(start_server) -> None:
    running = await start_server(dispatch=False)
    olga = await running.create_user("olga@example.com", roles=["owner"])
    otto = await running.create_user("otto@example.com", roles=["owner"])
    ula = await running.create_user("ula@example.com", roles=["user-admin"])
    member = await running.create_user("mo@example.com")
    as_olga, as_otto, as_ula = [await _token_of(running, u) for u in (olga, otto, ula)]
    silenced = {"disabled": ["user_account_created", "user_account_suspended"]}
    olgas = f"/api/v1/users/{olga['id']}/preferences"

    # A user-admin silencing the owners' account alerts is refused, and nothing changes.
    _, before = await running.call("GET", olgas)
    status, answer = await running.call("PUT", olgas, token=as_ula, json=silenced)
    assert status == 403 and "only an owner" in answer["detail"]
    _, after = await running.call("GET", olgas)
    assert after == before and "user_account_created" not in after["disabled"]
    # The owner herself, another owner, and the admin token may.
    for token in (as_olga, as_otto, None):
        kwargs = {"token": token} if token else {}
        status, prefs = await running.call("PUT", olgas, json=silenced, **kwargs)
        assert status == 200 and sorted(prefs["disabled"]) == silenced["disabled"]
    # A user-admin still changes a member's preferences, and their own.
    for user in (member, ula):
        status, _ = await running.call(
            "PUT", f"/api/v1/users/{user['id']}/preferences", token=as_ula, json=silenced
        )
        assert status == 200


async def test_a_users_tokens_are_handled_only_by_them_or_an_owner(start_server) -> None:
    running = await start_server(dispatch=False)
    olga = await running.create_user("olga@example.com", roles=["owner"])
    ula = await running.create_user("ula@example.com", roles=["user-admin"])
    udo = await running.create_user("udo@example.com", roles=["user-admin"])
    member = await running.create_user("mo@example.com")
    as_olga, as_ula, as_udo = [await _token_of(running, u) for u in (olga, ula, udo)]
    _, udos_tokens = await running.call("GET", f"/api/v1/users/{udo['id']}/tokens", token=as_udo)
    [udos_token] = udos_tokens["items"]

    # Ula cannot mint (and so act as), list or revoke Udo's tokens, nor a member's.
    for user in (udo, member):
        tokens = f"/api/v1/users/{user['id']}/tokens"
        status, answer = await running.call("POST", tokens, token=as_ula, json={})
        assert status == 403 and "user themself or an owner" in answer["detail"], answer
        status, _ = await running.call("GET", tokens, token=as_ula)
        assert status == 403
    status, _ = await running.call(
        "DELETE", f"/api/v1/users/{udo['id']}/tokens/{udos_token['id']}", token=as_ula
    )
    assert status == 403
    status, me = await running.call("GET", "/api/v1/users/me", token=as_udo)
    assert status == 200 and me["id"] == udo["id"]  # Udo's token still works
    _, listed = await running.call("GET", f"/api/v1/users/{udo['id']}/tokens", token=as_udo)
    assert len(listed["items"]) == 1  # and nothing was minted for him

    # Udo himself and an owner may.
    for token in (as_udo, as_olga):
        status, minted = await running.call(
            "POST", f"/api/v1/users/{udo['id']}/tokens", token=token, json={}
        )
        assert status == 201 and minted["user_id"] == udo["id"]
        status, listed = await running.call("GET", f"/api/v1/users/{udo['id']}/tokens", token=token)
        assert status == 200
        status, _ = await running.call(
            "DELETE", f"/api/v1/users/{udo['id']}/tokens/{minted['id']}", token=token
        )
        assert status == 204


async def test_a_member_cannot_tell_others_from_unknown_users(start_server) -> None:
    running = await start_server(dispatch=False)
    mo = await running.create_user("mo@example.com", username="mo")
    carol = await running.create_user("carol@example.com", username="carol")
    as_mo = await _token_of(running, mo)
    known = (carol["id"], "carol@example.com", "carol")
    unknown = ("0b5ec1c4-5c6e-4f43-9a3e-3c1d2b7a6f00", "nobody@example.com", "nobody")
    token_id = "6f1d2c3b-4a59-4e8f-9b7a-1c2d3e4f5a6b"
    routes = [
        ("GET", "/api/v1/users/{ref}", None),
        ("GET", "/api/v1/users/{ref}/preferences", None),
        ("PUT", "/api/v1/users/{ref}/preferences", {"disabled": []}),
        ("GET", "/api/v1/users/{ref}/tokens", None),
        ("POST", "/api/v1/users/{ref}/tokens", {}),
        ("DELETE", "/api/v1/users/{ref}/tokens/" + token_id, None),
    ]
    for method, path, body in routes:
        for ref_known, ref_unknown in zip(known, unknown, strict=True):
            answers = []
            for ref in (ref_known, ref_unknown):
                status, answer = await running.call(
                    method, path.format(ref=ref), token=as_mo, json=body
                )
                answers.append((status, answer["detail"].replace(ref, "<ref>")))
            assert answers[0] == answers[1], (method, path, answers)
            assert answers[0][0] == 404
    # Their own user is still theirs, by every reference.
    for ref in (mo["id"], "mo@example.com", "mo", "me"):
        status, found = await running.call("GET", f"/api/v1/users/{ref}", token=as_mo)
        assert status == 200 and found["id"] == mo["id"]


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
