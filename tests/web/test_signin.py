"""Signing in: failed attempts are limited per client address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from clarion.ratelimit import FAILED_SIGN_INS_PER_MINUTE


@pytest.fixture
async def browserless() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


async def _attempt(
    http: aiohttp.ClientSession, running: Any, token: str, client: str
) -> tuple[int, str, str | None]:
    # The server trusts 127.0.0.1 as a proxy, so X-Forwarded-For names the client.
    async with http.post(
        running.url + "/signin",
        data={"token": token, "next": "/"},
        headers={"Origin": running.url, "X-Forwarded-For": client},
        allow_redirects=False,
    ) as answer:
        return answer.status, await answer.text(), answer.headers.get("Retry-After")


async def test_failed_sign_ins_are_limited_per_client_address(
    start_server, browserless: aiohttp.ClientSession
) -> None:
    running = await start_server(dispatch=False)
    clock = [0.0]
    running.service.limits.failed_sign_ins.clock = lambda: clock[0]
    user = await running.create_user("ann@example.com")
    _, token = await running.call("POST", f"/api/v1/users/{user['id']}/tokens", json={})
    good = token["token"]

    for _ in range(FAILED_SIGN_INS_PER_MINUTE):
        status, _, _ = await _attempt(browserless, running, "clarion_guess", "203.0.113.7")
        assert status == 401
    # Over the limit, even the right token waits: a guess that hits is not told apart.
    status, text, retry_after = await _attempt(browserless, running, good, "203.0.113.7")
    assert status == 429 and retry_after == "60"
    assert "Too many failed sign-ins: try again in 60 s." in text
    # Another address is not held back.
    status, _, _ = await _attempt(browserless, running, good, "203.0.113.8")
    assert status == 303

    clock[0] += 60
    status, _, _ = await _attempt(browserless, running, good, "203.0.113.7")
    assert status == 303


async def test_successful_sign_ins_are_not_limited(
    start_server, browserless: aiohttp.ClientSession
) -> None:
    running = await start_server(dispatch=False)
    user = await running.create_user("ann@example.com")
    _, token = await running.call("POST", f"/api/v1/users/{user['id']}/tokens", json={})
    for _ in range(FAILED_SIGN_INS_PER_MINUTE + 2):
        status, _, _ = await _attempt(browserless, running, token["token"], "203.0.113.7")
        assert status == 303
