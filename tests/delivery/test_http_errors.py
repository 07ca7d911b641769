"""Reasons for failed HTTP sends name the status, the error's class and the host, never the
URL's path or the request's credentials (a webhook URL is the secret; Telegram's path holds
the bot token; a provider's error answer may quote the request)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from clarion.delivery.http import HttpClient
from clarion.delivery.outcome import Failed, Retry
from tests.conftest import free_port
from tests.fakes.trouble import ECHO_400, ECHO_500, MALFORMED, RESET, STALL, TroubleHttp

SECRET = "123456789:AAH-sEcReT-bot-token-in-the-path-0123456789"
HEADER_SECRET = "hdr-sEcReT-0123456789abcdef"


@pytest.fixture
async def trouble() -> AsyncIterator[TroubleHttp]:
    server = await TroubleHttp().start()
    yield server
    await server.stop()


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (MALFORMED, "ClientResponseError (400: Bad status line)"),
        (RESET, "failed: "),
        (STALL, "did not answer within 1s"),
        (ECHO_500, "answered HTTP 500"),
        (ECHO_400, "answered HTTP 400"),
    ],
)
async def test_a_failed_request_names_no_secret(
    trouble: TroubleHttp, mode: str, expected: str
) -> None:
    trouble.mode = mode
    client = HttpClient(timeout=1, allow_private=True)
    try:
        outcome, _, _ = await client.post(
            f"{trouble.url}/bot{SECRET}/sendMessage?sig={SECRET}",
            json_body={"text": "hi"},
            headers={"X-Api-Key": HEADER_SECRET},
            provider="Telegram",
        )
    finally:
        await client.close()
    assert isinstance(outcome, Retry | Failed)
    assert expected in outcome.reason, outcome.reason
    for secret in (SECRET, HEADER_SECRET, "sEcReT"):
        assert secret not in outcome.reason, outcome.reason
    assert trouble.requests and SECRET.encode() in trouble.requests[0]  # it was sent


async def test_a_refused_connection_names_the_host_only() -> None:
    client = HttpClient(timeout=1, allow_private=True)
    port = free_port()  # nothing listens there
    try:
        outcome, _, _ = await client.post(f"http://127.0.0.1:{port}/hooks/{SECRET}", json_body={})
    finally:
        await client.close()
    assert isinstance(outcome, Retry)
    assert outcome.reason.startswith(f"could not connect to server at http://127.0.0.1:{port}/…")
    assert SECRET not in outcome.reason
