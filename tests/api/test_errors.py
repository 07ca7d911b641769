"""Bad input gets a 4xx that names the problem, and nothing is stored."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from clarion.store.tables import events, messages


async def _count(running) -> tuple[int, int]:
    async with running.service.db.engine.connect() as conn:
        n_events = (await conn.execute(sa.select(sa.func.count()).select_from(events))).scalar()
        n_messages = (await conn.execute(sa.select(sa.func.count()).select_from(messages))).scalar()
    return n_events, n_messages


async def test_bad_events_are_refused_and_store_nothing(start_server) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    before = await _count(running)
    labels = {"name": "dev", "reason": "r", "initiator": "i"}
    cases = [
        ({"type": "no_such_event", "user_email": "ann@example.com"}, 422, "no_such_event"),
        (
            {"type": "workspace_deleted", "user_email": "ann@example.com", "labels": {"name": "x"}},
            422,
            "'reason'",
        ),
        (
            {"type": "workspace_deleted", "user_email": "nobody@example.com", "labels": labels},
            422,
            "nobody@example.com",
        ),
        (
            {"type": "workspace_deleted", "user_id": str(uuid.uuid4()), "labels": labels},
            422,
            "user_id",
        ),
        ({"type": "workspace_deleted", "labels": labels}, 422, "user_id or user_email"),
        (
            {"type": "workspace_deleted", "user_email": "ann@example.com", "labels": {"name": 5}},
            422,
            "labels.name",
        ),
        (
            {
                "type": "workspace_deleted",
                "user_email": "ann@example.com",
                "labels": labels,
                "surprise": True,
            },
            422,
            "surprise",
        ),
        ({"user_email": "ann@example.com"}, 422, "type"),
        # PostgreSQL text cannot hold NUL: refused on every engine, not a 500 on one.
        (
            {
                "type": "workspace_deleted",
                "user_email": "ann@example.com",
                "labels": {**labels, "name": "dev\u0000"},
            },
            422,
            "labels.name",
        ),
        (
            {
                "type": "test_notification",
                "user_email": "ann@example.com",
                "data": {"k": ["\u0000"]},
            },
            422,
            "data",
        ),
    ]
    for body, expected_status, fragment in cases:
        status, answer = await running.call("POST", "/api/v1/events", json=body)
        assert status == expected_status, (body, answer)
        assert fragment in answer["detail"], (body, answer)
    assert await _count(running) == before


async def test_malformed_json_is_a_400(start_server) -> None:
    running = await start_server(dispatch=False)
    status, answer = await running.call(
        "POST",
        "/api/v1/events",
        data=b'{"type": "workspace_deleted",',
        headers={"Content-Type": "application/json"},
    )
    assert status == 400 and "malformed JSON" in answer["detail"]


async def test_bad_or_missing_token_is_a_401(start_server) -> None:
    running = await start_server(dispatch=False)
    before = await _count(running)
    body = {"type": "test_notification"}
    status, answer = await running.call("POST", "/api/v1/events", json=body, token=None)
    assert status == 401 and "bearer token" in answer["detail"]
    status, answer = await running.call("POST", "/api/v1/events", json=body, token="nope")
    assert status == 401 and "invalid bearer token" in answer["detail"]
    assert await _count(running) == before


async def test_batch_is_all_or_nothing(start_server) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    before = await _count(running)
    good = {
        "type": "workspace_deleted",
        "user_email": "ann@example.com",
        "labels": {"name": "dev", "reason": "r", "initiator": "i"},
    }
    status, answer = await running.call(
        "POST", "/api/v1/events/batch", json={"events": [good, {**good, "type": "nope"}]}
    )
    assert status == 422 and answer["detail"].startswith("events[1].type")
    assert await _count(running) == before
    poisoned = {**good, "labels": {**good["labels"], "reason": "r\u0000"}}
    status, answer = await running.call(
        "POST", "/api/v1/events/batch", json={"events": [good, poisoned]}
    )
    assert status == 422 and answer["detail"].startswith("events[1].labels.reason"), answer
    assert await _count(running) == before
    status, answer = await running.call(
        "POST", "/api/v1/events/batch", json={"events": [good, good]}
    )
    assert status == 202 and len(answer["events"]) == 2
    # The same notification the same day is one message: both events report it.
    [first], [second] = (event["messages"] for event in answer["events"])
    assert first == second and first["status"] == "pending"
    status, again = await running.call("POST", "/api/v1/events/batch", json={"events": [good]})
    assert status == 202 and again["events"][0]["messages"] == [first]
