"""Request bodies over the limit are a 413 naming the body, whether their length is declared
or they arrive in chunks, and nothing of them is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import sqlalchemy as sa

from clarion.limits import MAX_FORM_BYTES
from clarion.store.tables import events, messages
from tests.conftest import ADMIN_TOKEN

LIMIT = 256 * 1024


async def _stored(running: Any) -> tuple[int, int]:
    async with running.service.db.read() as conn:
        n_events = (await conn.execute(sa.select(sa.func.count()).select_from(events))).scalar()
        n_messages = (await conn.execute(sa.select(sa.func.count()).select_from(messages))).scalar()
    return int(n_events or 0), int(n_messages or 0)


def _event(label: str) -> bytes:
    labels = {"name": "dev", "reason": label, "initiator": "ops"}
    body = {"type": "workspace_deleted", "user_email": "ann@example.com", "labels": labels}
    return orjson.dumps(body)


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 16 * 1024):
        yield body[start : start + 16 * 1024]


async def test_a_body_over_the_limit_is_a_413_and_nothing_is_stored(start_server) -> None:
    running = await start_server(dispatch=False, max_request_bytes=LIMIT)
    await running.create_user("ann@example.com")
    before = await _stored(running)
    five_mb = _event("x" * 5_000_000)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
    url = running.url + "/api/v1/events"
    async with running.http.post(url, data=five_mb, headers=headers) as answer:
        assert answer.status == 413
        detail = (await answer.json())["detail"]
    assert detail.startswith("body: ") and "256 KiB" in detail
    # Sent in chunks, without a length: counted as it arrives.
    async with running.http.post(url, data=_chunks(five_mb), headers=headers) as answer:
        assert answer.status == 413 and "Content-Length" not in answer.request_info.headers
        assert (await answer.json())["detail"].startswith("body: ")
    assert await _stored(running) == before

    # Under the limit, in chunks or not, the body reaches the route whole.
    small = _event("y" * 1000)
    for data in (small, _chunks(small)):
        async with running.http.post(url, data=data, headers=headers) as answer:
            assert answer.status == 202, await answer.text()


async def test_a_page_form_over_the_limit_is_a_413_page(start_server) -> None:
    running = await start_server(dispatch=False, max_request_bytes=LIMIT)
    cookie = await running.session_cookie(ADMIN_TOKEN)
    headers = {"Cookie": f"clarion_session={cookie}", "Origin": running.url}
    # Over the pages' own limit, a page says so; over the request limit, before any page
    # reads it, so does the limit, with a page too (not the API's JSON).
    for size, says in ((MAX_FORM_BYTES + 1, "too large"), (LIMIT + 1, "larger than 256 KiB")):
        async with running.http.post(
            running.url + "/admin/pause",
            data={"paused": "true", "next": "x" * size},
            headers=headers,
            allow_redirects=False,
        ) as answer:
            assert answer.status == 413
            assert answer.headers["Content-Type"].startswith("text/html")
            assert says in await answer.text()
    _, settings = await running.call("GET", "/api/v1/notifications/settings")
    assert settings == {"paused": False}
