"""The one outbound HTTP client (aiohttp, keep-alive) and the destination guard.

Every HTTP sender posts through :class:`HttpClient`, which refuses destinations on
loopback and private ranges unless ``CLARION_ALLOW_PRIVATE_DESTINATIONS`` is set, and
always refuses link-local and cloud metadata addresses. Answers go through the one
classifier, :func:`clarion.delivery.outcome.classify_http`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from clarion import encoding
from clarion.delivery.guard import (
    DestinationGuard,
    DestinationRefused,
    Resolve,
    _GuardedResolver,
    check_url_syntax,
    redact_url,
)
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
