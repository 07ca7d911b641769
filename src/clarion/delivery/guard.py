"""The destination guard: which addresses clarion sends to, judged before a send and again
at connect time (what aiohttp's resolver answers), so a name cannot resolve to a public
address for the check and a private or metadata one for the connection."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from clarion.redact import redact_url as redact_url


class DestinationRefused(ValueError):
    """A URL clarion will not send to; the message says why and what to set."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# The addresses a name resolves to, as strings (``getaddrinfo`` by default; tests inject one).
Resolve = Callable[[str, int], Awaitable[Sequence[str]]]

# Cloud instance metadata services (AWS, Alibaba, Oracle and others): refused always, since
# they hand out credentials to whoever asks from inside the machine.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
# "This network" (Linux connects 0.x.x.x to the host itself) and the reserved class E.
_NOWHERE_V4 = (ipaddress.ip_network("0.0.0.0/8"), ipaddress.ip_network("240.0.0.0/4"))
# Special-purpose ranges that are not reachable on the internet, listed because Python's
# ``is_global`` misses some of them in the versions clarion supports.
_NOT_GLOBAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "64:ff9b:1::/48",
        "3fff::/20",
    )
)
_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")


def _v4(raw: bytes) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(raw)


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to (6to4, NAT64, Teredo, IPv4-compatible)."""
    raw = addr.packed
    if addr in _NAT64:
        return [_v4(raw[12:])]
    if addr in _NAT64_LOCAL:
        # The network picks the prefix length (RFC 6052), so try every place the IPv4
        # address may sit; a place holding 0.x.x.x is padding, not this network's layout.
        places = (raw[6:8] + raw[9:11], raw[7:8] + raw[9:12], raw[9:13], raw[12:])
        return [_v4(p) for p in places if p[0] != 0]
    if addr.sixtofour is not None:
        return [addr.sixtofour]
    if addr.teredo is not None:
        return list(addr.teredo)
    if addr in _COMPATIBLE and int(addr) > 1:
        return [_v4(raw[12:])]
    return []


def _check_address(addr: IPAddress, allow_private: bool) -> str:
    """Why clarion will not connect to ``addr``, or "" when it may.

    Loopback, private and other non-global addresses need ``allow_private``; link-local,
    multicast, unspecified, reserved and metadata addresses are refused always. An IPv6
    address that leads to an IPv4 one is judged by that IPv4 address too.
    """
    if isinstance(addr, ipaddress.IPv6Address):
        addr = ipaddress.IPv6Address(addr.packed)  # without a zone: compare the address only
        if addr.ipv4_mapped is not None:
            return _check_address(addr.ipv4_mapped, allow_private)  # the same host, spelt v6
        for inner in _embedded_ipv4(addr):
            problem = _check_address(inner, allow_private)
            if problem:
                return f"{addr} leads to an IPv4 address: {problem}"
    if addr.is_link_local or addr.is_multicast:
        return f"{addr} is a link-local or multicast address (cloud metadata lives there)"
    if addr in METADATA_ADDRESSES:
        return f"{addr} is a cloud metadata address"
    if addr.is_unspecified or _is_reserved(addr):
        return f"{addr} is an unspecified or reserved address"
    if allow_private:
        return ""
    if addr.is_loopback or not addr.is_global or any(addr in net for net in _NOT_GLOBAL):
        return (
            f"{addr} is a loopback or private address, or otherwise not public; "
            "set CLARION_ALLOW_PRIVATE_DESTINATIONS=true to allow it"
        )
    return ""


def _is_reserved(addr: IPAddress) -> bool:
    if isinstance(addr, ipaddress.IPv4Address):
        return any(addr in net for net in _NOWHERE_V4)
    if addr.is_loopback or addr in _NAT64 or addr in _NAT64_LOCAL:
        return False
    # Outside global unicast and unique local, IPv6 is unassigned, deprecated (site-local,
    # IPv4-compatible) or special: nothing a notification goes to.
    return not (addr in _GLOBAL_UNICAST or addr in _UNIQUE_LOCAL)


async def system_resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def check_url_syntax(url: str) -> None:
    """Raise DestinationRefused unless ``url`` is an absolute http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused(f"{redact_url(url)!r} is not an http(s) URL with a host")
    try:
        parts.port  # noqa: B018 - parsing it raises for a port out of range
    except ValueError:
        raise DestinationRefused(f"{parts.hostname!r} has no valid port number") from None


class DestinationGuard:
    """Resolves a host and judges every address it resolves to, for HTTP and for SMTP."""

    def __init__(self, allow_private: bool, resolve: Resolve | None = None):
        self.allow_private = allow_private
        self._resolve = resolve or system_resolve

    async def lookup(self, host: str, port: int) -> list[IPAddress]:
        """The host's addresses (a literal is its own); OSError when the name does not
        resolve."""
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            pass
        found = [ipaddress.ip_address(a) for a in await self._resolve(host, port)]
        if not found:
            raise OSError(f"{host} has no address")
        return found

    def judge(self, addresses: Sequence[IPAddress]) -> str:
        """Why one of ``addresses`` is refused, or "" when all are allowed."""
        for addr in addresses:
            problem = _check_address(addr, self.allow_private)
            if problem:
                return problem
        return ""

    async def problem(self, host: str, port: int, *, refuse_unresolved: bool = False) -> str:
        try:
            addresses = await self.lookup(host, port)
        except OSError:
            if refuse_unresolved and not self.allow_private:
                return "the name does not resolve, so it cannot be checked"
            return ""  # unresolvable: the send itself reports it, and it may heal
        return self.judge(addresses)

    async def check_host(self, host: str, port: int, *, refuse_unresolved: bool = False) -> None:
        """Raise DestinationRefused when ``host`` resolves to a forbidden address."""
        problem = await self.problem(host, port, refuse_unresolved=refuse_unresolved)
        if problem:
            raise DestinationRefused(f"refusing to send to {host}: {problem}")

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to, all of them checked: a caller connects to these, not
        to the name, so a second lookup cannot answer differently (DNS rebinding). OSError
        when the name does not resolve."""
        found = await self.lookup(host, port)
        problem = self.judge(found)
        if problem:
            raise DestinationRefused(f"refusing to connect to {host}: {problem}")
        return found


class _GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing forbidden addresses at connect time too.

    :meth:`HttpClient.check_destination` judges a host before the send, but aiohttp resolves
    it again to connect: a name with a short TTL could answer a public address to the first
    and a private or metadata one to the second (DNS rebinding). This sees what aiohttp
    will actually connect to.
    """

    def __init__(self, allow_private: bool, resolve: Resolve | None = None):
        self._inner = DefaultResolver()
        self._resolve = resolve
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._resolve is None:
            found = await self._inner.resolve(host, port, family)
        else:
            found = [_result(host, address, port) for address in await self._resolve(host, port)]
        for result in found:
            problem = _check_address(ipaddress.ip_address(result["host"]), self._allow_private)
            if problem:
                raise OSError(f"refusing to connect to {host}: {problem}")
        return found

    async def close(self) -> None:
        await self._inner.close()


def _result(host: str, address: str, port: int) -> ResolveResult:
    v6 = ":" in address
    return ResolveResult(
        hostname=host,
        host=address,
        port=port,
        family=socket.AF_INET6 if v6 else socket.AF_INET,
        proto=0,
        flags=socket.AI_NUMERICHOST,
    )
