"""The response models: /openapi.json documents each 2xx body of the users, events, messages
and notifications routes, and the raw event answers are what their models say."""

from __future__ import annotations

from clarion.api.schemas import EventQueued, EventsQueued

DOCUMENTED_TAGS = {"users", "events", "messages", "notifications"}


async def test_every_2xx_answer_has_a_schema(start_server) -> None:
    running = await start_server(dispatch=False)
    status, schema = await running.call("GET", "/openapi.json", token=None)
    assert status == 200
    missing = []
    for path, operations in schema["paths"].items():
        for verb, operation in operations.items():
            if not DOCUMENTED_TAGS & set(operation.get("tags", [])):
                continue
            for code, answer in operation["responses"].items():
                if not code.startswith("2") or code == "204":
                    continue
                body = answer.get("content", {}).get("application/json", {}).get("schema", {})
                if "$ref" not in body:
                    missing.append(f"{verb.upper()} {path} {code}")
    assert missing == []


async def test_the_raw_event_answers_match_their_models(start_server) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    event = {"type": "test_notification", "user_email": "ann@example.com"}
    status, one = await running.call("POST", "/api/v1/events", json=event)
    assert status == 202
    assert EventQueued.model_validate(one).model_dump(mode="json") == one
    status, many = await running.call("POST", "/api/v1/events/batch", json={"events": [event]})
    assert status == 202
    assert EventsQueued.model_validate(many).model_dump(mode="json") == many
