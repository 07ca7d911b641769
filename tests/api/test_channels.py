"""Channel configs at the API: a value JSON storage cannot hold, or past a kind's bound, is a
422 naming the field, and nothing is saved."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("retry", "says"),
    [(2**70, "config: cannot be stored as JSON"), (10**6, "config.retry")],
)
async def test_a_config_value_out_of_range_is_a_422(start_server, retry: int, says: str) -> None:
    running = await start_server(dispatch=False)
    # On loopback: had the config been taken, Test Connection would send nowhere else.
    config = {
        "user_key": "u" * 30,
        "api_token": "a" * 30,
        "retry": retry,
        "api_url": "http://127.0.0.1:9",
    }
    body = {"name": "phones", "kind": "pushover", "config": config}
    status, answer = await running.call("POST", "/api/v1/channels", json=body)
    assert status == 422 and says in answer["detail"], answer
    status, answer = await running.call(
        "POST", "/api/v1/channels/test", json={"kind": "pushover", "config": config}
    )
    assert status == 422 and says in answer["detail"], answer
    _, listing = await running.call("GET", "/api/v1/channels")
    assert listing["items"] == []
