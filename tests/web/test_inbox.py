"""The inbox page's stream: a ``since`` that is not a time with a zone, or is out of range
once in UTC, is a 422 page naming it."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("since", "says"),
    [
        ("0001-01-01T00:00:00+14:00", "since: out of range"),
        ("9999-12-31T23:59:59-14:00", "since: out of range"),
        ("2026-11-23T10:00:00", "since: give a time zone"),
        ("yesterday", "since: &#39;yesterday&#39; is not a time"),
    ],
)
async def test_a_stream_from_a_bad_time_is_a_422_page(start_server, since: str, says: str) -> None:
    running = await start_server(dispatch=False)
    zoe = await running.create_user("zoe@example.com")
    _, token = await running.call("POST", f"/api/v1/users/{zoe['id']}/tokens", json={})
    headers = {"Cookie": f"clarion_session={await running.session_cookie(token['token'])}"}
    url = running.url + "/inbox/stream"
    async with running.http.get(url, params={"since": since}, headers=headers) as answer:
        assert answer.status == 422
        assert answer.headers["Content-Type"].startswith("text/html")
        assert says in await answer.text()
