"""The destination guard of the one outbound HTTP client, including its cached answers."""

from __future__ import annotations

import ipaddress

import aiohttp
import pytest

from clarion.delivery.guard import DestinationRefused
from clarion.delivery.http import HttpClient, answer_seconds, json_answer
from clarion.delivery.outcome import Failed, Retry


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
    import clarion.delivery.http as http

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
    from clarion.delivery.guard import _GuardedResolver

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


ALWAYS_REFUSED = [
    "169.254.169.254",  # link-local metadata
    "100.100.100.200",  # Alibaba metadata, in the shared address space
    "192.0.0.192",  # Oracle metadata
    "fd00:ec2::254",  # AWS metadata over IPv6, a unique local address
    "fe80::1",
    "224.0.0.1",
    "ff02::1",
    "0.0.0.0",
    "0.1.2.3",
    "::",
    "240.0.0.1",
    "255.255.255.255",
    "fec0::1",  # site-local, deprecated
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1:a9fe:a9:fe00::",  # local NAT64 (/48) of 169.254.169.254
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo, client 169.254.169.254 (obfuscated)
    "::169.254.169.254",  # IPv4-compatible
    "::8.8.8.8",  # IPv4-compatible, deprecated: nothing to send to
]
PRIVATE = [
    "127.0.0.1",
    "::1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "100.127.255.254",
    "192.0.0.8",
    "198.18.0.1",
    "fd12:3456::1",
    "2001:db8::1",
    "::ffff:10.0.0.1",
    "::ffff:127.0.0.1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::808:808",  # local NAT64: not global itself
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (obfuscated)
]
PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize("address", ALWAYS_REFUSED)
@pytest.mark.parametrize("allow_private", [False, True])
def test_addresses_refused_always(address: str, allow_private: bool) -> None:
    from clarion.delivery.guard import _check_address

    problem = _check_address(ipaddress.ip_address(address), allow_private)
    assert problem and "CLARION_ALLOW_PRIVATE_DESTINATIONS" not in problem


@pytest.mark.parametrize("address", PRIVATE)
def test_non_public_addresses_need_the_setting(address: str) -> None:
    from clarion.delivery.guard import _check_address

    assert "CLARION_ALLOW_PRIVATE_DESTINATIONS" in _check_address(
        ipaddress.ip_address(address), False
    )
    assert _check_address(ipaddress.ip_address(address), True) == ""


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    from clarion.delivery.guard import _check_address

    assert _check_address(ipaddress.ip_address(address), False) == ""


class RecordingResolver:
    """Answers a fixed address once, then fails: a second lookup would be aiohttp's own, made
    only to connect, so a refusal that comes from the guard leaves exactly one call."""

    def __init__(self, address: str):
        self.address = address
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        if len(self.asked) > 1:
            raise OSError("the test resolver answers once")
        return [self.address]


@pytest.mark.parametrize(
    ("address", "allow_private"),
    [
        ("100.100.100.200", False),
        ("100.64.1.2", False),
        ("fd00:ec2::254", True),
        ("64:ff9b::a9fe:a9fe", True),
        ("2002:7f00:1::1", False),
    ],
)
async def test_a_name_resolving_to_a_refused_address_is_never_connected(
    address: str, allow_private: bool
) -> None:
    resolver = RecordingResolver(address)
    client = HttpClient(timeout=5, allow_private=allow_private, resolve=resolver)
    try:
        outcome, status, _ = await client.post("http://hooks.example.test:8080/in", json_body={})
    finally:
        await client.close()
    assert isinstance(outcome, Failed) and "refusing to send" in outcome.reason
    assert address in outcome.reason and status is None
    assert resolver.asked == [("hooks.example.test", 8080)]


async def test_the_connection_resolves_through_the_guard_too() -> None:
    """A name that passed the check but resolves elsewhere when connecting is refused."""
    answers = iter(["93.184.216.34", "127.0.0.1"])  # were it let through: loopback only
    asked: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return [next(answers)]

    client = HttpClient(timeout=5, allow_private=False, resolve=rebinding)
    try:
        outcome, status, _ = await client.post("http://rebind.example.test/in", json_body={})
    finally:
        await client.close()
    assert isinstance(outcome, Retry) and status is None and "refusing" in outcome.reason
    assert asked == ["rebind.example.test", "rebind.example.test"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"ok": false, "error": "x"}', {"ok": False, "error": "x"}),
        (b'{"status": 1}', {"status": 1}),
        ("", None),
        ("<html>502 Bad Gateway</html>", None),
        ('{"ok": tr', None),  # cut short
        ("[1, 2]", None),  # JSON, but not the object a provider answers
        ('"ok"', None),
        ("null", None),
    ],
)
def test_a_provider_answer_is_an_object_or_none(body: str | bytes, expected: object) -> None:
    assert json_answer(body) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3.0),
        (1.5, 1.5),
        ("2", 2.0),
        (0, 0.0),
        (-1, None),
        ("soon", None),
        (None, None),
        (True, None),
        ([1], None),
        ({"s": 1}, None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_a_wait_from_an_answer_is_a_finite_number_of_seconds(
    value: object, expected: object
) -> None:
    assert answer_seconds(value) == expected
