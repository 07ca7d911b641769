"""The message log's cursor and the stats window: a value past what a time can hold is a
422 naming the parameter, for members and admins, on every engine."""

from __future__ import annotations

import base64
import uuid

import pytest

from tests.conftest import ADMIN_TOKEN

# Valid as written; a year out of range once in UTC.
OUT_OF_RANGE = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


def _cursor(when: str) -> str:
    raw = f"{when}|{uuid.uuid4()}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("when", OUT_OF_RANGE)
async def test_a_cursor_out_of_range_is_a_422(start_server, when: str) -> None:
    running = await start_server(dispatch=False)
    ann = await running.create_user("ann@example.com")
    _, token = await running.call("POST", f"/api/v1/users/{ann['id']}/tokens", json={})
    for caller in (ADMIN_TOKEN, token["token"]):
        status, body = await running.call(
            "GET", "/api/v1/messages", token=caller, params={"cursor": _cursor(when)}
        )
        assert status == 422 and body["detail"].startswith("cursor: "), body


@pytest.mark.parametrize("since", ["99999999d", "9" * 400, "9" * 30 + "d", "3651d"])
async def test_a_stats_window_too_long_is_a_422(start_server, since: str) -> None:
    running = await start_server(dispatch=False)
    status, body = await running.call("GET", "/api/v1/messages/stats", params={"since": since})
    assert status == 422 and body["detail"].startswith("since: "), body
    status, body = await running.call("GET", "/api/v1/messages/stats", params={"since": "3650d"})
    assert status == 200 and body["window_seconds"] == 3650 * 86400
