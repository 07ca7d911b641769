"""The destination guard of the one outbound HTTP client, including its cached answers."""

from __future__ import annotations

import aiohttp
import pytest

from clarion.channels.http import DestinationRefused, HttpClient


async def test_metadata_and_link_local_are_refused_every_time() -> None:
    client = HttpClient(timeout=5, allow_private=True)
    for _ in range(2):  # the second answer comes from the cache and must still refuse
        with pytest.raises(DestinationRefused, match=r"169\.254\.169\.254 is a link-local"):
            await client.check_destination("http://169.254.169.254/latest/meta-data")


async def test_private_destinations_need_the_setting() -> None:
    strict = HttpClient(timeout=5, allow_private=False)
    for _ in range(2):
        with pytest.raises(DestinationRefused, match="CLARION_ALLOW_PRIVATE_DESTINATIONS"):
            await strict.check_destination("http://10.1.2.3:8080/hook")
    relaxed = HttpClient(timeout=5, allow_private=True)
    await relaxed.check_destination("http://10.1.2.3:8080/hook")
    await relaxed.check_destination("http://10.1.2.3:8080/hook")


async def test_each_url_is_judged_on_its_own_host() -> None:
    client = HttpClient(timeout=5, allow_private=False)
    with pytest.raises(DestinationRefused):
        await client.check_destination("http://127.0.0.1:9/hook")
    # Same path, public address: allowed, whatever the loopback URL's cached answer was.
    await client.check_destination("http://93.184.216.34:9/hook")
    with pytest.raises(DestinationRefused, match="not an http"):
        await client.check_destination("ftp://93.184.216.34/hook")


async def test_the_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import clarion.channels.http as http

    monkeypatch.setattr(http, "_CHECKED_URLS", 8)
    client = HttpClient(timeout=5, allow_private=True)
    for i in range(8):
        await client.check_destination(f"http://10.0.0.{i}/hook")
    assert len(client._checked) == 8
    for url, (_, problem) in list(client._checked.items()):
        client._checked[url] = (0.0, problem)  # expired long ago
    await client.check_destination("http://10.0.0.100/hook")
    assert list(client._checked) == ["http://10.0.0.100/hook"]


async def test_a_port_out_of_range_is_refused_without_showing_credentials() -> None:
    client = HttpClient(timeout=5, allow_private=True)
    with pytest.raises(DestinationRefused, match="no valid port") as refused:
        await client.check_destination("https://user:hunter2@example.com:99999/hook")
    assert "hunter2" not in str(refused.value)


async def test_addresses_are_checked_again_when_connecting() -> None:
    """A name judged before the send may resolve elsewhere at connect time (DNS rebinding):
    the connection's own lookup is refused too."""
    from clarion.channels.http import _GuardedResolver

    strict = _GuardedResolver(allow_private=False)
    relaxed = _GuardedResolver(allow_private=True)
    try:
        with pytest.raises(OSError, match="refusing to connect to localhost"):
            await strict.resolve("localhost", 80)
        assert {r["host"] for r in await relaxed.resolve("localhost", 80)} <= {"127.0.0.1", "::1"}
    finally:
        await strict.close()
        await relaxed.close()

    # Through the client, skipping the pre-send check as a rebinding name would pass it.
    client = HttpClient(timeout=5, allow_private=False)
    try:
        with pytest.raises(aiohttp.ClientConnectorError) as refused:
            await client.session.get("http://localhost:9/")
        assert "refusing to connect to localhost" in str(refused.value.os_error)
    finally:
        await client.close()
