"""Custom event types: created, validated like built-ins, used, replaced and deleted."""

from __future__ import annotations

from tests.api.test_channel_routes import undocumented_answers

CUSTOM = {
    "key": "invoice_overdue",
    "name": "Invoice Overdue",
    "title_template": "Invoice {{ labels.number }} is overdue",
    "body_template": "Hi {{ user_name }},\n\n"
    "invoice **{{ labels.number }}** is {{ labels.days }} days late.",
    "actions": [{"label": "Pay now", "url": "{{ base_url }}/invoices/{{ labels.number }}"}],
    "required_labels": ["number", "days"],
    "recipients": ["subject_user"],
}


async def test_custom_event_type_lifecycle(start_server) -> None:
    running = await start_server(method="inbox")
    user = await running.create_user("ann@example.com", name="Ann")
    status, created = await running.call("POST", "/api/v1/event-types", json=CUSTOM)
    assert status == 201, created
    assert created["kind"] == "custom" and created["group"] == "Custom Events"
    status, _ = await running.call("POST", "/api/v1/event-types", json=CUSTOM)
    assert status == 409

    status, event = await running.call(
        "POST",
        "/api/v1/events",
        json={
            "type": "invoice_overdue",
            "user_id": user["id"],
            "labels": {"number": "A-7", "days": "3"},
        },
    )
    assert status == 202, event
    message = await running.wait_status(event["messages"][0]["id"], {"sent"})
    assert message["content"]["title"] == "Invoice A-7 is overdue"
    assert message["content"]["actions"][0]["url"].endswith("/invoices/A-7")

    replaced = {k: v for k, v in CUSTOM.items() if k != "key"}
    replaced["title_template"] = "Overdue: {{ labels.number }}"
    status, updated = await running.call(
        "PUT", "/api/v1/event-types/invoice_overdue", json=replaced
    )
    assert status == 200 and updated["title_template"] == "Overdue: {{ labels.number }}"
    status, body = await running.call("PUT", "/api/v1/event-types/workspace_deleted", json=replaced)
    assert status == 409 and "built in" in body["detail"]
    status, body = await running.call("DELETE", "/api/v1/event-types/workspace_deleted")
    assert status == 409
    status, _ = await running.call("DELETE", "/api/v1/event-types/invoice_overdue")
    assert status == 204
    status, body = await running.call(
        "POST",
        "/api/v1/events",
        json={
            "type": "invoice_overdue",
            "user_id": user["id"],
            "labels": {"number": "A-8", "days": "1"},
        },
    )
    assert status == 422 and "invoice_overdue" in body["detail"]


async def test_template_errors_surface_at_creation(start_server) -> None:
    running = await start_server(dispatch=False)
    cases = [
        ({"body_template": "{% if labels.days %}unclosed"}, "body: syntax error"),
        ({"title_template": "{{ labels.amount }}"}, "title: label 'amount' is missing"),
        ({"title_template": "{{ secrets }}"}, "unknown variable(s) secrets"),
        ({"actions": [{"label": "x", "url": "ftp://{{ labels.number }}"}]}, "not an absolute http"),
        ({"body_template": "{{ 'x' * 10000000 }}"}, "body: too large"),
        ({"title_template": "{{ 'x' * 10 ** 9 }}"}, "title: too large"),
        ({"key": "Bad Key"}, "key"),
        ({"recipients": ["everyone"]}, "recipients"),
    ]
    for change, fragment in cases:
        status, body = await running.call("POST", "/api/v1/event-types", json={**CUSTOM, **change})
        assert status == 422, (change, body)
        assert fragment in body["detail"], (change, body)
    status, listing = await running.call("GET", "/api/v1/event-types")
    assert "invoice_overdue" not in {t["key"] for t in listing["items"]}
    assert "Workspace Events" in listing["groups"]


async def test_explicit_targets_that_are_users_also_receive(start_server) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    bob = await running.create_user("bob@example.com")
    workspace_id = "0b4c6e1a-0000-4000-8000-00000000abcd"
    status, event = await running.call(
        "POST",
        "/api/v1/events",
        json={
            "type": "workspace_deleted",
            "user_email": "ann@example.com",
            "labels": {"name": "dev", "reason": "r", "initiator": "i"},
            "targets": [workspace_id, bob["id"]],
        },
    )
    assert status == 202
    assert sorted(m["recipient"] for m in event["messages"]) == [
        "ann@example.com",
        "bob@example.com",
    ]
    _, message = await running.call("GET", f"/api/v1/messages/{event['messages'][0]['id']}")
    assert message["payload"]["targets"] == [workspace_id, bob["id"]]


async def test_a_custom_type_over_a_bound_is_a_422_naming_it(start_server) -> None:
    running = await start_server(dispatch=False)
    cases = [
        ({"required_labels": ["number", "d" * 101]}, "required_labels[1]"),
        ({"name": "n" * 201}, "name"),
        ({"title_template": "t" * 1001}, "title_template"),
        ({"body_template": "b" * 20001}, "body_template"),
    ]
    for change, fragment in cases:
        status, body = await running.call("POST", "/api/v1/event-types", json={**CUSTOM, **change})
        assert status == 422 and body["detail"].startswith(fragment), (change, body)
    status, listing = await running.call("GET", "/api/v1/event-types")
    assert "invoice_overdue" not in {t["key"] for t in listing["items"]}


async def test_every_event_type_answer_is_documented(start_server) -> None:
    running = await start_server(dispatch=False)
    status, schema = await running.call("GET", "/openapi.json")
    assert status == 200
    assert undocumented_answers(schema, "/api/v1/event-types") == []
    view = schema["components"]["schemas"]["EventTypeView"]
    assert "effective_method" in view["properties"]
