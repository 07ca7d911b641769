"""Every built-in type, posted through the API with its example labels, is delivered with its
labels and actions: Coder's by the webhook method, Dokploy's to a subscribed channel."""

from __future__ import annotations

import asyncio

from clarion.intake.catalog import BUILTIN_EVENT_TYPES
from tests.fakes.sink import HttpSink


async def test_every_builtin_type_delivers_labels_and_actions(start_server, sink: HttpSink) -> None:
    running = await start_server(webhook_endpoint=sink.url + "/user")
    user = await running.create_user(
        "root@example.com", roles=["owner", "user-admin", "template-admin"], username="rooty"
    )
    channel_types = [s for s in BUILTIN_EVENT_TYPES if not s.recipients]
    status, _ = await running.call(
        "POST",
        "/api/v1/channels",
        json={
            "name": "all ops",
            "kind": "webhook",
            "config": {"endpoint": sink.url + "/team"},
            "events": [s.key for s in channel_types],
        },
    )
    assert status == 201
    # Off-by-default types need the user's opt-in.
    status, _ = await running.call(
        "PUT", f"/api/v1/users/{user['id']}/preferences", json={"disabled": []}
    )
    assert status == 200

    expected = {}
    for spec in BUILTIN_EVENT_TYPES:
        body = {
            "type": spec.key,
            "labels": dict(spec.example_labels),
            "data": dict(spec.example_data),
        }
        if spec.recipients:
            body["user_id"] = user["id"]
        status, answer = await running.call("POST", "/api/v1/events", json=body)
        assert status == 202, (spec.key, answer)
        [message] = answer["messages"]
        assert message["status"] == "pending", (spec.key, message)
        expected[message["id"]] = spec

    by_id: dict[str, tuple[str, dict]] = {}
    for _ in range(300):
        for request in sink.received:
            payload = request.json()
            by_id[payload.get("msg_id") or payload["data"]["id"]] = (request.path, payload)
        if set(expected) <= set(by_id):
            break
        await asyncio.sleep(0.1)
    # The only other delivery: root hearing of its own account's creation.
    assert {
        by_id[k][1].get("payload", {}).get("notification_name") for k in set(by_id) - set(expected)
    } <= {"User account created"}
    by_id = {k: v for k, v in by_id.items() if k in expected}
    assert set(by_id) == set(expected)
    for message_id, spec in expected.items():
        path, payload = by_id[message_id]
        if spec.recipients:
            assert path == "/user"
            assert payload["payload"]["labels"] == dict(spec.example_labels), spec.key
            assert [a["label"] for a in payload["payload"]["actions"]] == [
                a.label.replace("{{ app_name }}", "Clarion") for a in spec.actions
            ], spec.key
            assert payload["title"] and payload["body"]
        else:
            assert path == "/team"
            assert payload["type"] == spec.key
            assert payload["data"]["labels"] == dict(spec.example_labels), spec.key
            assert len(payload["data"]["actions"]) == len(spec.actions), spec.key
