"""Web sessions: signing out ends the session on the server, and the cookie is Secure when
the browser came over https (directly or through a trusted proxy)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import Morsel
from typing import Any

import aiohttp
import pytest


@pytest.fixture
async def browserless() -> AsyncIterator[aiohttp.ClientSession]:
    """A client that keeps no cookies: each request sends exactly what the test gives."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


async def _member_token(running: Any) -> str:
    user = await running.create_user("ann@example.com")
    status, token = await running.call("POST", f"/api/v1/users/{user['id']}/tokens", json={})
    assert status == 201, token
    return str(token["token"])


async def sign_in(
    http: aiohttp.ClientSession, running: Any, token: str, headers: dict[str, str] | None = None
) -> Morsel[str]:
    async with http.post(
        running.url + "/signin",
        data={"token": token, "next": "/"},
        headers={"Origin": running.url, **(headers or {})},
        allow_redirects=False,
    ) as answer:
        assert answer.status == 303, await answer.text()
        return answer.cookies["clarion_session"]


async def _home_status(http: aiohttp.ClientSession, running: Any, cookie: str) -> int:
    async with http.get(
        running.url + "/", headers={"Cookie": f"clarion_session={cookie}"}, allow_redirects=False
    ) as answer:
        if answer.status == 303:
            assert answer.headers["Location"].startswith("/signin")
        return answer.status


async def test_a_copied_cookie_is_refused_after_signing_out(
    start_server, browserless: aiohttp.ClientSession
) -> None:
    running = await start_server(dispatch=False)
    token = await _member_token(running)
    cookie = (await sign_in(browserless, running, token)).value
    other = (await sign_in(browserless, running, token)).value  # another browser, same token
    copy = cookie  # taken from the browser by someone else
    assert await _home_status(browserless, running, copy) == 200

    async with browserless.post(
        running.url + "/signout",
        headers={"Cookie": f"clarion_session={cookie}", "Origin": running.url},
        allow_redirects=False,
    ) as answer:
        assert answer.status == 303 and answer.headers["Location"] == "/signin"
        assert answer.cookies["clarion_session"].value == ""  # the browser forgets it too

    assert await _home_status(browserless, running, copy) == 303  # refused on the server
    async with browserless.get(
        running.url + "/inbox/stream",
        headers={"Cookie": f"clarion_session={copy}"},
        allow_redirects=False,
    ) as stream:
        assert stream.status == 303
    # Only that session ended: the other sign-in with the same token goes on.
    assert await _home_status(browserless, running, other) == 200


async def test_the_cookie_is_secure_when_a_trusted_proxy_says_https(
    start_server, browserless: aiohttp.ClientSession
) -> None:
    running = await start_server(dispatch=False)  # trusts 127.0.0.1, as by default
    token = await _member_token(running)
    plain = await sign_in(browserless, running, token)
    assert not plain["secure"]
    https = {"X-Forwarded-Proto": "https"}
    behind_proxy = await sign_in(browserless, running, token, https)
    assert behind_proxy["secure"]
    assert behind_proxy["httponly"] and behind_proxy["samesite"] == "strict"


async def test_the_cookie_ignores_https_claimed_by_an_untrusted_peer(
    start_server, browserless: aiohttp.ClientSession
) -> None:
    running = await start_server(dispatch=False, trusted_proxies="192.0.2.10")
    token = await _member_token(running)
    claimed = await sign_in(browserless, running, token, {"X-Forwarded-Proto": "https"})
    assert not claimed["secure"]


async def test_the_cookie_is_secure_when_the_access_url_is_https(
    start_server, browserless: aiohttp.ClientSession
) -> None:
    running = await start_server(dispatch=False, access_url="https://clarion.example")
    token = await _member_token(running)
    cookie = await sign_in(browserless, running, token, {"Origin": "https://clarion.example"})
    assert cookie["secure"]
