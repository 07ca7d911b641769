"""The one outbound HTTP client (aiohttp, keep-alive) and the destination guard.

Every HTTP sender posts through :class:`HttpClient`, which refuses destinations on
loopback and private ranges unless ``CLARION_ALLOW_PRIVATE_DESTINATIONS`` is set, and
always refuses link-local and cloud metadata addresses. Answers go through the one
classifier, :func:`clarion.delivery.outcome.classify_http`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from clarion import encoding
from clarion.delivery.outcome import Delivered, Failed, Outcome, Retry, classify_http, trim
from clarion.delivery.scrub import scrub_outcome
from clarion.redact import Scrubber

USER_AGENT = "clarion/0.1"
_DNS_CACHE_SECONDS = 60.0
# Checked URLs kept before the expired ones are dropped (Test Connection adds any URL).
_CHECKED_URLS = 1024


def json_answer(text: str | bytes) -> dict[str, Any] | None:
    """A provider's answer body as the JSON object it should be; None when it is empty, not
    JSON, or JSON but not an object (a proxy's error page, a truncated body)."""
    if not text:
        return None
    try:
        found = encoding.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def answer_seconds(value: Any) -> float | None:
    """A wait a provider's answer gives in seconds (``retry_after``), when it is a finite
    number of at least zero."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds < float("inf") else None


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


def redact_url(url: str) -> str:
    """Scheme, host and port only: webhook URLs carry credentials in their path."""
    parts = urlsplit(url)
    if not parts.hostname:
        return "<invalid URL>"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/…"


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


class HttpClient:
    """A shared aiohttp session with per-send timeouts and the destination guard.

    ``resolve``: how names are looked up, for the guard and for connections (tests inject one).
    """

    def __init__(
        self,
        *,
        timeout: float,
        allow_private: bool,
        max_connections: int = 256,
        resolve: Resolve | None = None,
    ):
        self.timeout = timeout
        self.allow_private = allow_private
        self.guard = DestinationGuard(allow_private, resolve)
        self._resolve = resolve
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._checked: dict[str, tuple[float, str]] = {}

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                ttl_dns_cache=300,
                resolver=_GuardedResolver(self.allow_private, self._resolve),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout, sock_connect=10),
                headers={"User-Agent": USER_AGENT},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def check_destination(self, url: str) -> None:
        """Resolve the URL's host and refuse it if any address is forbidden."""
        now = time.monotonic()
        cached = self._checked.get(url)  # by the whole URL: no parsing on every send
        if cached is None or cached[0] <= now:
            check_url_syntax(url)
            parts = urlsplit(url)
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
            if len(self._checked) >= _CHECKED_URLS:
                self._checked = {u: c for u, c in self._checked.items() if c[0] > now}
            cached = (now + _DNS_CACHE_SECONDS, await self.guard.problem(host, port))
            self._checked[url] = cached
        if cached[1]:
            raise DestinationRefused(f"refusing to send to {redact_url(url)}: {cached[1]}")

    async def check_host(self, host: str, port: int, *, refuse_unresolved: bool = False) -> None:
        """Refuse a host (not a URL: a library that sends by itself names it) by the same
        rules as a URL's; its connections are not guarded again at connect time, so a name
        that does not resolve now may be refused too (it might resolve when it connects)."""
        await self.guard.check_host(host, port, refuse_unresolved=refuse_unresolved)

    async def post(
        self,
        url: str,
        *,
        json_body: Any = None,
        data: bytes | Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        provider: str = "server",
        success_body: str | None = None,
    ) -> tuple[Outcome, int | None, str]:
        """POST and classify: (outcome, status or None, response text).

        ``success_body``: providers (Slack, Mattermost) whose 2xx only counts with this body.
        """
        return await self.request(
            "POST",
            url,
            json_body=json_body,
            data=data,
            headers=headers,
            provider=provider,
            success_body=success_body,
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        data: bytes | Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        provider: str = "server",
        success_body: str | None = None,
    ) -> tuple[Outcome, int | None, str]:
        """Send one request through the guard and classify the answer (see :meth:`post`).

        A reason never holds the URL's path or query, nor a header's value: a provider's
        error answer may quote the request, and those carry the credentials.
        """
        outcome, status, text = await self._request(
            method,
            url,
            json_body=json_body,
            data=data,
            headers=headers,
            provider=provider,
            success_body=success_body,
        )
        if not isinstance(outcome, Delivered):
            sent = [v for k, v in (headers or {}).items() if k.lower() != "content-type"]
            outcome = scrub_outcome(outcome, Scrubber(url, sent))
        return outcome, status, text

    async def _request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any,
        data: bytes | Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        provider: str,
        success_body: str | None,
    ) -> tuple[Outcome, int | None, str]:
        try:
            await self.check_destination(url)
        except DestinationRefused as exc:
            return Failed(str(exc)), None, ""
        send_headers = dict(headers or {})
        body: Any = data
        if json_body is not None:
            body = encoding.dumps(json_body)
            send_headers.setdefault("Content-Type", "application/json")
        try:
            async with self.session.request(
                method, url, data=body, headers=send_headers, allow_redirects=False
            ) as response:
                text = await response.text(errors="replace")
                outcome = classify_http(response.status, response.headers, text, provider=provider)
                wrong_body = success_body is not None and text.strip() != success_body
                if isinstance(outcome, Delivered) and wrong_body:
                    body = trim(text) or "no body"
                    outcome = Failed(f"{provider} answered HTTP {response.status}: {body}")
                return outcome, response.status, text
        except TimeoutError:
            return Retry(f"{provider} did not answer within {self.timeout:g}s"), None, ""
        except aiohttp.ClientError as exc:
            return Retry(_transport_reason(exc, provider, url)), None, ""


def _transport_reason(exc: aiohttp.ClientError, provider: str, url: str) -> str:
    """Why a request failed, from the exception's class, status and errno and the redacted
    URL only: aiohttp's own text repeats the whole URL (``url='…'``), and for webhook kinds
    and Telegram the URL is the credential."""
    where = redact_url(url)
    if isinstance(exc, aiohttp.ClientConnectorError):
        cause = exc.os_error.strerror or str(exc.os_error) or type(exc).__name__
        return f"could not connect to {provider} at {where}: {cause}"
    what = type(exc).__name__
    if isinstance(exc, aiohttp.ClientResponseError):
        # The message's first clause is aiohttp's ("Bad status line"); the rest quotes the
        # server's answer, which may repeat the request.
        first = exc.message.split(":", 1)[0].split("\n", 1)[0]
        what += f" ({exc.status}: {trim(first, 60)})" if first else f" ({exc.status})"
    elif isinstance(exc, aiohttp.ClientOSError) and exc.strerror:
        what += f" ({exc.strerror})"
    return f"{provider} request to {where} failed: {what}"
