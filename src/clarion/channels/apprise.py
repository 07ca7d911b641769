"""The ``apprise`` channel kind: the long tail of services, through an Apprise URL.

Optional: it needs the ``apprise`` package (``pip install 'clarion[apprise]'``). Apprise
sends synchronously with ``requests``, so each send runs in a small shared thread pool
(:data:`THREADS` at most; sends wait for a free thread on the event loop, not in the pool),
never on the event loop itself. clarion keeps its own rules: the plugins' own retries and
redirects are off where they have them, a failed send is a ``Retry`` whose reason is what
Apprise logged (with URLs cut to scheme and host), and the queue's retry policy decides.

Destinations: every host the plugin names (``host``, and ``smtp_host`` for mail) is
resolved and checked before each send by the same rules as every other channel
(``CLARION_ALLOW_PRIVATE_DESTINATIONS``). Apprise connects by itself, so the second check
at connect time that guards clarion's own HTTP client (DNS rebinding) does not apply, and a
cloud plugin whose URL's host part is an id (``discord://<id>/…``) is checked as if it were
an address. A send that outlives its time limit cannot be stopped in its thread: it may
still arrive after being recorded as a retry.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from markupsafe import escape
from pydantic import BaseModel, ConfigDict, Field, field_validator

from clarion.channels.registry import ChannelKind, Destination
from clarion.delivery.guard import DestinationRefused, redact_url
from clarion.delivery.http import HttpClient
from clarion.delivery.outcome import Delivered, Failed, Outbound, Outcome, Retry, trim
from clarion.render import Rendered

THREADS = 4
_POOL = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="clarion-apprise")
_SLOTS = threading.BoundedSemaphore(THREADS)  # see AppriseSender.send
# Plugin attributes that make it try again by itself (clarion's queue does that).
_RETRY_ATTRIBUTES = ("retry", "retries", "default_retries", "sparkpost_retry_attempts")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)


class _ThreadLines(logging.Handler):
    """Apprise's warnings, kept per thread: the reason a send in that thread failed.

    Installed once; Apprise's lines do not reach clarion's log (they may carry a URL, and
    for some services the URL is the secret)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._local = threading.local()

    def start(self) -> None:
        self._local.lines = []

    def lines(self) -> list[str]:
        return list(getattr(self._local, "lines", []))

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(self._local, "lines", None)
        if lines is not None:
            lines.append(_URL.sub(lambda m: redact_url(m[0]), record.getMessage()))


_LINES = _ThreadLines()
_LOG = logging.getLogger("apprise")
_LOG.addHandler(_LINES)
_LOG.setLevel(logging.WARNING)
_LOG.propagate = False


def _apprise() -> Any:
    try:
        import apprise
    except ImportError:
        raise ValueError(
            "the apprise kind needs the apprise package: pip install 'clarion[apprise]'"
        ) from None
    return apprise


def _plugin(url: str) -> Any:
    plugin = _apprise().Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise ValueError(
            "Apprise does not understand this URL (see https://github.com/caronc/apprise/wiki)"
        )
    return plugin


class AppriseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Destination[str] = Field(
        min_length=3, description="an Apprise URL, e.g. matrixs://user:pass@host/#room"
    )

    @field_validator("url")
    @classmethod
    def _understood(cls, value: str) -> str:
        _plugin(value.strip())
        return value.strip()


def _native_format(plugin: Any) -> str:
    """The format a plugin sends (its first, when it names several): text, html, markdown."""
    native = getattr(plugin, "notify_format", "text")
    if isinstance(native, tuple | list):
        native = native[0] if native else "text"
    return str(getattr(native, "value", native))


def _message(content: Rendered, native: str) -> tuple[str, str, str]:
    """(title, body, format) in the plugin's own format, so Apprise converts nothing."""
    if native == "html":
        links = "".join(
            f'<p><a href="{escape(a.url)}">{escape(a.label)}</a></p>' for a in content.actions
        )
        return str(escape(content.title)), content.body_html + links, "html"
    if native == "markdown":
        links = "\n\n".join(f"[{a.label}]({a.url})" for a in content.actions)
        body = content.body_markdown + (f"\n\n{links}" if links else "")
        return content.title_markdown, body, "markdown"
    links = "\n".join(f"{a.label}: {a.url}" for a in content.actions)
    return content.title, content.body_text.strip() + (f"\n\n{links}" if links else ""), "text"


def _hosts(plugin: Any) -> list[tuple[str, int]]:
    """The hosts the plugin names, to check before it connects."""
    port = getattr(plugin, "port", None)
    secure = bool(getattr(plugin, "secure", False))
    found = []
    for name, default_port in (("host", 443 if secure else 80), ("smtp_host", 25)):
        host = getattr(plugin, name, None)
        if isinstance(host, str) and host.strip("[] "):
            number = port if name == "host" and port else default_port
            found.append((host.strip("[] "), int(number)))
    return found


def _send_blocking(plugin: Any, content: Rendered, timeout: float) -> tuple[bool, str]:
    for name in ("socket_connect_timeout", "socket_read_timeout"):
        if hasattr(plugin, name):
            setattr(plugin, name, timeout / 2)  # the two together within the send's limit
    for name in _RETRY_ATTRIBUTES:
        if isinstance(getattr(plugin, name, None), int):
            setattr(plugin, name, 0)
    if hasattr(plugin, "redirects"):
        plugin.redirects = False  # a redirect could lead past the destination check
    title, body, body_format = _message(content, _native_format(plugin))
    _LINES.start()
    # The plugin itself, in this thread (an Apprise object may hand it to its own pool).
    ok = plugin.notify(body=body, title=title, body_format=body_format)
    return bool(ok), "; ".join(_LINES.lines())


def _in_slot(plugin: Any, content: Rendered, timeout: float) -> tuple[bool, str]:
    try:
        return _send_blocking(plugin, content, timeout)
    finally:
        _SLOTS.release()


class AppriseSender:
    def __init__(self, config: AppriseConfig, http: HttpClient):
        self.config = config
        self.http = http

    async def send(self, message: Outbound) -> Outcome:
        try:
            plugin = _plugin(self.config.url)
            for host, port in _hosts(plugin):
                await self.http.check_host(host, port, refuse_unresolved=True)
        except DestinationRefused as exc:
            return Failed(str(exc))
        except ValueError as exc:
            return Failed(str(exc))
        # Wait for a free thread here, where waiting can be cancelled, so that a send is
        # never left queued in the pool to go out after its time limit.
        while not _SLOTS.acquire(blocking=False):  # noqa: ASYNC110 - a thread releases it
            await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        timeout = self.http.timeout
        try:
            job = loop.run_in_executor(_POOL, _in_slot, plugin, message.content, timeout)
            # Shielded: a job cancelled before its thread took it would keep its slot forever.
            ok, logged = await asyncio.wait_for(asyncio.shield(job), timeout)
        except TimeoutError:
            return Retry(f"Apprise did not finish within {timeout:g}s")
        except Exception as exc:
            return Retry(
                f"Apprise failed: {trim(_URL.sub('<url>', str(exc)) or type(exc).__name__)}"
            )
        if ok:
            return Delivered("Apprise sent it")
        return Retry(f"Apprise could not send: {trim(logged) or 'no reason given'}")


KIND = ChannelKind(
    kind="apprise",
    title="Apprise URL (other services)",
    config_model=AppriseConfig,
    secret_fields=frozenset({"url"}),
    build=lambda config, deps: AppriseSender(config, deps.http),
    description="Any of the 100+ services Apprise supports (Matrix, Signal, SMS, …) by its URL.",
)
