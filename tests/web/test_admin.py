"""The message log page's cursor: one that is not from a previous page, or holds a time out
of range once in UTC, is a 422 page naming it."""

from __future__ import annotations

import base64
import uuid

import pytest

from tests.conftest import ADMIN_TOKEN


def _cursor(when: str) -> str:
    raw = f"{when}|{uuid.uuid4()}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [_cursor("0001-01-01T00:00:00+14:00"), _cursor("9999-12-31T23:59:59-14:00"), "nonsense"],
    ids=["year 0 in UTC", "year 10000 in UTC", "not a cursor"],
)
async def test_a_bad_cursor_is_a_422_page(start_server, cursor: str) -> None:
    running = await start_server(dispatch=False)
    headers = {"Cookie": f"clarion_session={await running.session_cookie(ADMIN_TOKEN)}"}
    url = running.url + "/admin/messages"
    async with running.http.get(url, params={"cursor": cursor}, headers=headers) as answer:
        assert answer.status == 422
        assert answer.headers["Content-Type"].startswith("text/html")
        assert "cursor: not a cursor from a previous page" in await answer.text()
    async with running.http.get(url, headers=headers) as answer:
        assert answer.status == 200
