"""Event intake's bounds: what an event carries is stored with every message it makes, so
labels, data and targets each have a limit, answered with a 422 naming the field; nothing
of a refused event is stored."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from clarion.limits import (
    LABEL_VALUE_LENGTH,
    MAX_DATA_BYTES,
    MAX_DATA_DEPTH,
    MAX_LABELS,
    MAX_TARGETS,
)
from clarion.store.tables import events, messages

LABELS = {"name": "dev", "reason": "idle", "initiator": "ops"}


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


async def _stored(running: Any) -> tuple[int, int]:
    async with running.service.db.read() as conn:
        n_events = (await conn.execute(sa.select(sa.func.count()).select_from(events))).scalar()
        n_messages = (await conn.execute(sa.select(sa.func.count()).select_from(messages))).scalar()
    return int(n_events or 0), int(n_messages or 0)


OVER_THE_LIMIT = [
    pytest.param(
        {"labels": {**LABELS, "reason": "x" * (LABEL_VALUE_LENGTH + 1)}},
        "labels: 'reason' is",
        id="label value",
    ),
    pytest.param({"labels": {**LABELS, "k" * 101: "v"}}, "labels: key 'kkk", id="label key"),
    pytest.param(
        {"labels": {**LABELS, **{f"l{i}": "v" for i in range(MAX_LABELS)}}},
        f"labels: {MAX_LABELS + 3} labels",
        id="label count",
    ),
    # As deep as orjson's own limit: the standard library parses it, storing it would fail.
    pytest.param({"data": _nested(254)}, "data: nested deeper than", id="data depth"),
    pytest.param({"data": _nested(MAX_DATA_DEPTH + 1)}, "data: nested deeper", id="data depth+1"),
    pytest.param({"data": {"n": 2**70}}, "data: cannot be stored as JSON", id="data big int"),
    pytest.param({"data": {"text": "x" * MAX_DATA_BYTES}}, "data: 65547 bytes", id="data size"),
    pytest.param(
        {"targets": [str(uuid.uuid4()) for _ in range(MAX_TARGETS + 1)]},
        "targets",
        id="targets",
    ),
    pytest.param({"idempotency_key": "k" * 201}, "idempotency_key", id="idempotency key"),
]


@pytest.mark.parametrize(("change", "fragment"), OVER_THE_LIMIT)
async def test_an_event_over_a_bound_is_a_422_naming_it(
    start_server, change: dict[str, Any], fragment: str
) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    await running.create_user("olga@example.com", roles=["owner"])
    before = await _stored(running)
    event = {"type": "workspace_deleted", "user_email": "ann@example.com", "labels": LABELS}
    status, answer = await running.call("POST", "/api/v1/events", json={**event, **change})
    assert status == 422 and fragment in answer["detail"], answer
    assert len(answer["detail"]) < 500  # the value is not echoed back
    status, answer = await running.call(
        "POST", "/api/v1/events/batch", json={"events": [event, {**event, **change}]}
    )
    assert status == 422 and answer["detail"].startswith("events[1]."), answer
    assert await _stored(running) == before


async def test_an_event_at_each_bound_is_accepted(start_server) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    labels = {**LABELS, "reason": "x" * LABEL_VALUE_LENGTH}
    labels.update({f"l{i}": "v" for i in range(MAX_LABELS - len(labels))})
    body = {
        "type": "workspace_deleted",
        "user_email": "ann@example.com",
        "labels": labels,
        "data": _nested(MAX_DATA_DEPTH),
        "targets": [str(uuid.uuid4()) for _ in range(MAX_TARGETS)],
    }
    status, answer = await running.call("POST", "/api/v1/events", json=body)
    assert status == 202, answer


async def test_a_batch_naming_more_users_than_one_query_takes_is_planned(start_server) -> None:
    # PostgreSQL takes at most 32767 parameters in a query; with a larger request limit, a
    # batch's users and targets can name more than that.
    running = await start_server(dispatch=False, max_request_bytes=8 * 1024 * 1024)
    await running.create_user("ann@example.com")
    event = {"type": "workspace_deleted", "user_email": "ann@example.com", "labels": LABELS}
    batch = [
        {**event, "targets": [str(uuid.uuid4()) for _ in range(MAX_TARGETS)]} for _ in range(400)
    ]
    status, answer = await running.call("POST", "/api/v1/events/batch", json={"events": batch})
    assert status == 202, answer
    assert len(answer["events"]) == 400


async def test_a_refused_event_names_its_field_in_the_answer(start_server) -> None:
    running = await start_server(dispatch=False)
    status, answer = await running.call("POST", "/api/v1/events", json={"type": "nope"})
    assert status == 422
    assert answer == {
        "detail": "type: unknown event type 'nope'; GET /api/v1/event-types lists the known ones",
        "field": "type",
    }
    batch = {"events": [{"type": "test_notification", "user_id": str(uuid.uuid4())}]}
    status, answer = await running.call("POST", "/api/v1/events/batch", json=batch)
    assert status == 422 and answer["field"] == "events[0].user_id", answer
