"""Single events posted together are stored together, each keeping its own outcome."""

from __future__ import annotations

import asyncio
import json

import pytest
import sqlalchemy as sa

from clarion.intake.events import EventInput, IntakeError
from clarion.store.tables import events, idempotency_keys


def _event(name: str, email: str = "ann@example.com", **overrides) -> EventInput:
    labels = {"name": name, "reason": "idle", "initiator": "ops"}
    return EventInput(
        **{"type": "workspace_deleted", "user_email": email, "labels": labels, **overrides}
    )


def _submit(running, event: EventInput, key: str | None = None):
    return running.service.single_events.submit(event, created_by=None, scope="admin", key=key)


async def _stored_names(running) -> list[str]:
    async with running.service.db.read() as conn:
        rows = (await conn.execute(sa.select(events.c.labels))).all()
    return sorted(r.labels["name"] for r in rows if "name" in r.labels)


async def _groups(running) -> int:
    """How many groups the events were stored in: a group's events share their time."""
    async with running.service.db.read() as conn:
        query = sa.select(sa.func.count(sa.distinct(events.c.created_at))).where(
            events.c.type == "workspace_deleted"
        )
        return int((await conn.execute(query)).scalar_one())


async def test_events_submitted_together_share_a_transaction(start_server) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    answers = await asyncio.gather(*(_submit(running, _event(f"ws{i}")) for i in range(20)))
    assert {status for status, _ in answers} == {202}
    bodies = [json.loads(body) for _, body in answers]
    assert len({b["id"] for b in bodies}) == 20
    assert all(len(b["messages"]) == 1 for b in bodies)
    assert await _stored_names(running) == sorted(f"ws{i}" for i in range(20))
    # One group for the first, one for the others that came meanwhile; not twenty.
    assert await _groups(running) in (1, 2)


async def test_a_bad_event_is_refused_alone(start_server) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    batch = [
        _event("good1"),
        _event("x", type="no_such_event"),
        _event("good2"),
        _event("y", email="nobody@example.com"),
        _event("good3"),
    ]
    outcomes = await asyncio.gather(*(_submit(running, e) for e in batch), return_exceptions=True)
    assert isinstance(outcomes[1], IntakeError) and outcomes[1].field == "type"
    assert isinstance(outcomes[3], IntakeError) and outcomes[3].field == "user_email"
    assert [o[0] for i, o in enumerate(outcomes) if i in (0, 2, 4)] == [202, 202, 202]
    assert await _stored_names(running) == ["good1", "good2", "good3"]


async def _poison_events(running) -> None:
    """A real failure when storing one event: the database refuses its row."""
    async with running.service.db.begin() as conn:
        if running.service.db.is_postgres:
            await conn.execute(
                sa.text(
                    "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN IF NEW.labels::text LIKE '%poison%' THEN "
                    "RAISE EXCEPTION 'poisoned event'; END IF; RETURN NEW; END $$"
                )
            )
            await conn.execute(
                sa.text(
                    "CREATE TRIGGER refuse_poison BEFORE INSERT ON events "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
                )
            )
        else:
            await conn.execute(
                sa.text(
                    "CREATE TRIGGER refuse_poison BEFORE INSERT ON events "
                    "WHEN NEW.labels LIKE '%poison%' "
                    "BEGIN SELECT RAISE(ABORT, 'poisoned event'); END"
                )
            )


async def test_a_failing_group_is_stored_event_by_event(start_server) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    try:
        await _poison_events(running)
        names = ["a", "b", "poison", "c", "d"]
        outcomes = await asyncio.gather(
            *(_submit(running, _event(n)) for n in names), return_exceptions=True
        )
        assert "poisoned event" in str(outcomes[2])
        assert all(o[0] == 202 for i, o in enumerate(outcomes) if i != 2), outcomes
        assert await _stored_names(running) == ["a", "b", "c", "d"]
    finally:
        async with running.service.db.begin() as conn:
            await conn.execute(
                sa.text(
                    "DROP TRIGGER IF EXISTS refuse_poison ON events"
                    if running.service.db.is_postgres
                    else "DROP TRIGGER IF EXISTS refuse_poison"
                )
            )


async def test_keys_repeated_within_and_across_groups_get_the_first_answer(start_server) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    submits = (
        [_submit(running, _event("keyed-a"), key="a") for _ in range(5)]
        + [_submit(running, _event("keyed-b"), key="b") for _ in range(3)]
        + [_submit(running, _event(f"plain{i}")) for i in range(4)]
    )
    answers = await asyncio.gather(*submits)
    assert len({answers[i] for i in range(5)}) == 1
    assert len({answers[i] for i in range(5, 8)}) == 1
    assert answers[0] != answers[5]
    assert await _stored_names(running) == [
        "keyed-a",
        "keyed-b",
        "plain0",
        "plain1",
        "plain2",
        "plain3",
    ]
    # Later, even with another body, a key gets the answer stored under it.
    assert await _submit(running, _event("other"), key="a") == answers[0]
    async with running.service.db.read() as conn:
        keys = (await conn.execute(sa.select(idempotency_keys.c.key))).scalars().all()
    assert sorted(keys) == ["a", "b"]


async def test_an_event_is_stored_even_if_its_caller_goes_away(start_server) -> None:
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")
    callers = [asyncio.create_task(_submit(running, _event(n))) for n in ("a", "gone", "b")]
    await asyncio.sleep(0)  # all three submitted
    callers[1].cancel()
    others = await asyncio.wait_for(asyncio.gather(callers[0], callers[2]), timeout=10)
    assert [status for status, _ in others] == [202, 202]
    with pytest.raises(asyncio.CancelledError):
        await callers[1]
    assert await _stored_names(running) == ["a", "b", "gone"]


async def test_batch_idempotency_keys_are_honoured(start_server) -> None:
    """Keys on batch events were accepted and ignored: a redelivered batch doubled."""
    running = await start_server(dispatch=False)
    await running.create_user("ann@example.com")

    def event(name: str, key: str | None) -> dict:
        body = {
            "type": "workspace_deleted",
            "user_email": "ann@example.com",
            "labels": {"name": name, "reason": "idle", "initiator": "ops"},
        }
        return {**body, "idempotency_key": key} if key else body

    batch = {"events": [event("a", "key-a"), event("b", None), event("c", "key-a")]}
    status, first = await running.call("POST", "/api/v1/events/batch", json=batch)
    assert status == 202, first
    a, b, c = first["events"]
    assert c == a  # the key repeated within the batch: the first answer
    assert await _stored_names(running) == ["a", "b"]

    status, again = await running.call("POST", "/api/v1/events/batch", json=batch)
    assert status == 202
    assert again["events"][0] == a and again["events"][2] == a
    assert again["events"][1]["id"] != b["id"]  # no key: a new event
    # A key first used alone is answered in a batch with that answer, and the reverse.
    status, alone = await running.call("POST", "/api/v1/events", json=event("d", "key-d"))
    assert status == 202
    status, mixed = await running.call(
        "POST", "/api/v1/events/batch", json={"events": [event("x", "key-d")]}
    )
    assert mixed["events"] == [alone]
    status, single = await running.call("POST", "/api/v1/events", json=event("y", "key-a"))
    assert single == a
    assert await _stored_names(running) == ["a", "b", "b", "d"]

    # All or none still: a bad event names its index in the batch, and nothing is stored.
    bad = {"events": [event("e", "key-e"), {**event("f", None), "type": "nope"}]}
    status, refused = await running.call("POST", "/api/v1/events/batch", json=bad)
    assert status == 422 and refused["detail"].startswith("events[1].type"), refused
    status, retried = await running.call("POST", "/api/v1/events", json=event("e", "key-e"))
    assert status == 202 and retried["id"] not in {a["id"], alone["id"]}
    assert await _stored_names(running) == ["a", "b", "b", "d", "e"]
