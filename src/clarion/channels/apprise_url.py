"""The ``apprise`` channel kind: the long tail of services, through an Apprise URL.

Optional: it needs the ``apprise`` package (``pip install 'clarion[apprise]'``). Apprise
sends synchronously with ``requests``, so each send runs in a small shared thread pool
(:data:`THREADS` at most), never on the event loop. clarion keeps its own rules: Apprise's
own retries are off (``retry=0`` where a plugin has them), a failed send is a ``Retry``
whose reason is what Apprise logged, and the queue's retry policy decides what follows.

Destinations: the host of a self-hosted service's URL (``json://``, ``ntfy://``,
``gotify://``, ``mailto://`` …) is checked before each send by the same rules as every
other channel (``CLARION_ALLOW_PRIVATE_DESTINATIONS``). Apprise connects by itself, so the
check at connect time that guards clarion's own HTTP client does not apply here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from markupsafe import escape
from pydantic import BaseModel, ConfigDict, Field, field_validator

from clarion.channels.base import Delivered, Failed, Outbound, Outcome, Retry, trim
from clarion.channels.http import DestinationRefused, HttpClient
from clarion.channels.registry import ChannelKind
from clarion.render import Rendered

THREADS = 4
_POOL = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="clarion-apprise")
_LOG = logging.getLogger("apprise")
if _LOG.getEffectiveLevel() > logging.WARNING:  # its warnings are the reasons we keep
    _LOG.setLevel(logging.WARNING)


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

    url: str = Field(
        min_length=3, description="an Apprise URL, e.g. matrixs://user:pass@host/#room"
    )

    @field_validator("url")
    @classmethod
    def _understood(cls, value: str) -> str:
        _plugin(value.strip())
        return value.strip()


class _ThreadLog(logging.Handler):
    """Apprise's log lines from one worker thread: why a send failed."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread and record.levelno >= logging.WARNING:
            self.lines.append(record.getMessage())


def _native_format(plugin: Any) -> str:
    """The format a plugin sends (its first, when it names several): text, html, markdown."""
    native = getattr(plugin, "notify_format", "text")
    if isinstance(native, tuple | list):
        native = native[0] if native else "text"
    return str(getattr(native, "value", native))


def _body(content: Rendered, native: str) -> tuple[str, str]:
    """The message in the plugin's own format (so Apprise converts nothing): (body, format)."""
    if native == "html":
        links = "".join(
            f'<p><a href="{escape(a.url)}">{escape(a.label)}</a></p>' for a in content.actions
        )
        return content.body_html + links, "html"
    if native == "markdown":
        links = "\n\n".join(f"[{a.label}]({a.url})" for a in content.actions)
        return content.body_markdown + (f"\n\n{links}" if links else ""), "markdown"
    links = "\n".join(f"{a.label}: {a.url}" for a in content.actions)
    return content.body_text.strip() + (f"\n\n{links}" if links else ""), "text"


def _send_blocking(url: str, content: Rendered, timeout: float) -> tuple[bool, str]:
    plugin = _plugin(url)
    for name in ("socket_connect_timeout", "socket_read_timeout"):
        if hasattr(plugin, name):
            setattr(plugin, name, timeout)
    if hasattr(plugin, "retry"):
        plugin.retry = 0
    body, body_format = _body(content, _native_format(plugin))
    capture = _ThreadLog()
    _LOG.addHandler(capture)
    try:  # the plugin itself, in this thread (an Apprise object may hand it to its own pool)
        ok = plugin.notify(body=body, title=content.title, body_format=body_format)
    finally:
        _LOG.removeHandler(capture)
    return bool(ok), "; ".join(capture.lines)


def _checked_host(plugin: Any) -> tuple[str, int] | None:
    """The host a self-hosted service's plugin connects to; None where the URL's host part
    is an id (``discord://<id>/…``) and the plugin talks to its cloud service."""
    host = getattr(plugin, "host", None)
    if not isinstance(host, str) or not host or host.isdigit():
        return None
    if "." not in host and host != "localhost" and ":" not in host:
        return None
    port = getattr(plugin, "port", None)
    secure = bool(getattr(plugin, "secure", False))
    return host, int(port) if port else (443 if secure else 80)


class AppriseSender:
    def __init__(self, config: AppriseConfig, http: HttpClient):
        self.config = config
        self.http = http

    async def send(self, message: Outbound) -> Outcome:
        target = _checked_host(_plugin(self.config.url))
        if target is not None:
            try:
                await self.http.check_host(*target)
            except DestinationRefused as exc:
                return Failed(str(exc))
        loop = asyncio.get_running_loop()
        try:
            ok, logged = await loop.run_in_executor(
                _POOL, _send_blocking, self.config.url, message.content, self.http.timeout
            )
        except Exception as exc:
            return Retry(f"Apprise failed: {trim(str(exc) or type(exc).__name__)}")
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
