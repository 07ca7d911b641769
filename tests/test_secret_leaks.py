"""No secret leaks anywhere: a distinct secret in every channel kind's config, the SMTP
password and an API token; providers that fail in every way (error answers quoting the
request, malformed status lines quoting it, resets, stalls, refused connections, an SMTP
server quoting AUTH) and an unhandled error inside a request; then none of the secrets is
in the log (console and JSON), the API's answers, the pages, or the messages' reasons.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import structlog
import uvicorn

from clarion.app import create_app
from clarion.channels.registry import kinds
from clarion.config import Settings
from clarion.logging import configure_logging
from clarion.service import Service
from tests.conftest import ADMIN_TOKEN, free_port
from tests.fakes.trouble import (
    ECHO_400,
    ECHO_500,
    MALFORMED,
    RESET,
    STALL,
    EchoingSmtp,
    TroubleHttp,
)

MARK = "sEcReT"  # in every planted secret, so one look finds any of them


def secret(name: str) -> str:
    return f"{name}-{MARK}-0123456789abcdef"


SMTP_PASSWORD = secret("smtp-method-password")
BODY_SECRET = secret("request-body")
CHANNEL_PASSWORD = secret("email-channel-password")


def channel_configs(base: str, smtp_port: int) -> dict[str, dict[str, Any]]:
    """One config per kind, each secret field holding its own secret, sending to ``base``."""
    host = base.removeprefix("http://")
    return {
        "apprise": {"url": f"json://user:{secret('apprise-pass')}@{host}/{secret('apprise')}"},
        "webhook": {
            "endpoint": f"{base}/custom",
            "headers": {"X-Api-Key": secret("webhook-header")},
            "secret": "whsec_" + base64.b64encode(secret("whsec").encode()).decode(),
        },
        "discord": {"webhook_url": f"{base}/api/webhooks/1234567890/{secret('discord')}"},
        "email": {
            "smtp_server": "127.0.0.1",
            "smtp_port": smtp_port,
            "security": "none",
            "username": "ann",
            "password": CHANNEL_PASSWORD,
            "from_address": "clarion <clarion@example.com>",
            "to_addresses": ["ops@example.com"],
        },
        "gotify": {"server_url": base, "app_token": secret("gotify")},
        "lark": {
            "webhook_url": f"{base}/open-apis/bot/v2/hook/{secret('lark')}",
            "secret": secret("lark-signing"),
        },
        "mattermost": {"webhook_url": f"{base}/hooks/{secret('mattermost')}"},
        "ntfy": {"server_url": base, "topic": "alerts", "access_token": "tk_" + secret("ntfy")},
        "pushover": {
            "user_key": secret("pushover-user"),
            "api_token": secret("pushover-token"),
            "api_url": base,
        },
        "resend": {
            "api_key": "re_" + secret("resend"),
            "from_address": "clarion <clarion@example.com>",
            "to_addresses": ["ops@example.com"],
            "api_url": base,
        },
        "slack": {"webhook_url": f"{base}/services/T000/B000/{secret('slack')}"},
        "slack_bot": {
            "bot_token": "xoxb-" + secret("slack-bot"),
            "channel": "C0123",
            "api_url": base,
        },
        "teams": {
            "webhook_url": f"{base}/workflows/abc/triggers/manual/paths/invoke"
            f"?api-version=1&sig={secret('teams')}"
        },
        "telegram": {
            "bot_token": "123456789:" + secret("telegram").replace("-", "_"),
            "chat_id": "42",
            "api_url": base,
        },
    }


def encoded_forms() -> list[str]:
    """The SMTP secrets as AUTH sends them (base64), which do not contain the mark."""
    forms = []
    for password in (SMTP_PASSWORD, CHANNEL_PASSWORD):
        for raw in (password, f"\0ann\0{password}"):
            forms.append(base64.b64encode(raw.encode()).decode())
    return forms


@dataclass
class Leaks:
    """Everything clarion showed: answers, pages, and the log written meanwhile."""

    log: io.StringIO
    shown: list[str] = field(default_factory=list)

    def add(self, what: Any) -> None:
        self.shown.append(what if isinstance(what, str) else json.dumps(what))

    def text(self) -> str:
        return "\n".join([self.log.getvalue(), *self.shown])


@dataclass
class Server:
    service: Service
    url: str
    http: aiohttp.ClientSession
    token: str = ADMIN_TOKEN
    cookie: str = ""

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.http.request(method, self.url + path, headers=headers, **kwargs) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, text

    async def page(self, method: str, path: str) -> tuple[int, str]:
        headers = {"Cookie": self.cookie, "Origin": self.url}
        async with self.http.request(method, self.url + path, headers=headers) as r:
            return r.status, await r.text()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        structlog.reset_defaults()
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


@pytest.fixture
async def trouble() -> AsyncIterator[TroubleHttp]:
    server = await TroubleHttp().start()
    yield server
    await server.stop()


@pytest.fixture
async def echoing_smtp() -> AsyncIterator[EchoingSmtp]:
    server = await EchoingSmtp().start()
    yield server
    await server.stop()


async def _serve(settings: Settings) -> tuple[Service, uvicorn.Server, asyncio.Task[None]]:
    """clarion as ``clarion server`` runs it: uvicorn's lines through clarion's logging."""
    service = Service(settings)
    config = uvicorn.Config(
        create_app(service),
        host="127.0.0.1",
        port=settings.port,
        log_level="warning",
        log_config=None,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return service, server, task


async def _until_finished(server: Server, ids: list[str]) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        found = []
        for message_id in ids:
            status, body = await server.call("GET", f"/api/v1/messages/{message_id}")
            assert status == 200, body
            found.append(body)
        if all(m["status"] == "permanent_failure" for m in found):
            return found
        assert asyncio.get_running_loop().time() < deadline, [m["status"] for m in found]
        await asyncio.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["console", "json"])
async def test_no_secret_reaches_logs_answers_pages_or_reasons(
    fmt: str,
    make_settings: Callable[..., Settings],
    trouble: TroubleHttp,
    echoing_smtp: EchoingSmtp,
    restore_logging: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = io.StringIO()
    configure_logging(fmt, "info", stream=log)
    # Loggers bound in earlier tests of this process must write here too.
    structlog.configure(cache_logger_on_first_use=False)
    leaks = Leaks(log)
    settings = make_settings(
        method="smtp",
        email_smarthost=f"127.0.0.1:{echoing_smtp.port}",
        email_from="clarion <clarion@example.com>",
        email_auth_username="ann",
        email_auth_password=SMTP_PASSWORD,
        dispatch_timeout="1s",
        max_send_attempts=4,
        retry_interval="50ms",
    )
    service, uv, task = await _serve(settings)
    http = aiohttp.ClientSession()
    try:
        server = Server(service, f"http://{settings.http_address}", http)
        await _exercise(server, leaks, trouble, echoing_smtp, monkeypatch)
    finally:
        await http.close()
        uv.should_exit = True
        await task

    text = leaks.text()
    # The errors did happen, and were logged ...
    for shown in ("HTTP 400", "HTTP 500", "Bad status line", "reset by peer", "did not answer"):
        assert shown in text, shown
    assert "could not connect" in text and "refused authentication: 535 5.7.8 refused" in text
    assert "Traceback" in text and "RuntimeError: the event store is gone" in text
    # ... the secrets went out (so the providers' answers quoted them) ...
    sent = b"".join(trouble.requests) + b"".join(echoing_smtp.auth_lines)
    assert sent.count(MARK.encode()) >= 12
    assert any(form.encode() in sent for form in encoded_forms())
    # ... and none of them came back.
    assert MARK not in text, _around(text, MARK)
    for form in encoded_forms():
        assert form not in text, _around(text, form)
    assert server.token not in text and ADMIN_TOKEN not in text


async def _exercise(
    server: Server,
    leaks: Leaks,
    trouble: TroubleHttp,
    smtp: EchoingSmtp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An owner with an API token of their own: every call below carries it.
    status, owner = await server.call(
        "POST", "/api/v1/users", json={"email": "ann@example.com", "roles": ["owner"]}
    )
    assert status == 201, owner
    status, minted = await server.call(
        "POST", f"/api/v1/users/{owner['id']}/tokens", json={"name": "ci"}
    )
    assert status == 201, minted
    server.token = minted["token"]
    async with server.http.post(
        server.url + "/signin",
        data={"token": server.token, "next": "/"},
        headers={"Origin": server.url},
        allow_redirects=False,
    ) as response:
        assert response.status == 303
        server.cookie = response.headers["Set-Cookie"].split(";", 1)[0]

    configs = channel_configs(trouble.url, smtp.port)
    assert set(configs) == set(kinds())  # every kind, apprise included
    channels = []
    for kind, config in configs.items():
        body = {"name": f"{kind} ops", "kind": kind, "config": config, "events": ["deploy_failed"]}
        status, channel = await server.call("POST", "/api/v1/channels", json=body)
        assert status == 201, channel
        leaks.add(channel)
        channels.append(channel)

    # Test Connection of every saved channel, the provider failing each way.
    for mode in (ECHO_400, ECHO_500, MALFORMED, RESET, STALL):
        trouble.mode = mode
        answers = await asyncio.gather(
            *(server.call("POST", f"/api/v1/channels/{c['id']}/test") for c in channels)
        )
        for status, answer in answers:
            assert status == 200 and answer["ok"] is False, answer
            leaks.add(answer)
    # The same from the channels page.
    trouble.mode = ECHO_400
    for channel in channels:
        status, page = await server.page("POST", f"/admin/channels/{channel['id']}/test")
        assert status == 200 and "test failed." in page, page
        leaks.add(page)
    # Unsaved configs sent where nothing listens: a refused connection.
    nowhere = f"http://127.0.0.1:{free_port()}"
    for kind, config in channel_configs(nowhere, free_port()).items():
        status, answer = await server.call(
            "POST", "/api/v1/channels/test", json={"kind": kind, "config": config}
        )
        assert status == 200 and answer["ok"] is False, answer
        leaks.add(answer)

    # Deliveries: each destination meets a malformed status line, a reset, a 500 and a
    # 400 in turn; the owner's email meets an SMTP server quoting AUTH.
    trouble.rotate()
    labels = {
        "project": "shop",
        "application": "api",
        "application_type": "application",
        "error_message": "exit 1",
        "build_url": "https://ci.example.com/b/1",
    }
    status, event = await server.call(
        "POST", "/api/v1/events", json={"type": "deploy_failed", "labels": labels}
    )
    assert status == 202, event
    status, user_event = await server.call(
        "POST",
        "/api/v1/events",
        json={
            "type": "workspace_deleted",
            "user_email": "ann@example.com",
            "labels": {"name": "dev", "reason": "idle", "initiator": "ops"},
        },
    )
    assert status == 202, user_event
    ids = [m["id"] for m in event["messages"] + user_event["messages"]]
    assert len(ids) == len(channels) + 1
    for message in await _until_finished(server, ids):
        leaks.add(message)

    # An unhandled error inside a request carrying a token and a secret in its body.
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the event store is gone")

    monkeypatch.setattr(server.service.single_events, "submit", broken)
    status, answer = await server.call(
        "POST",
        "/api/v1/events",
        json={
            "type": "workspace_deleted",
            "user_email": "ann@example.com",
            "labels": {"name": "dev", "reason": BODY_SECRET, "initiator": "ops"},
        },
    )
    assert status == 500, answer
    leaks.add(answer)

    # Everything the API and the pages show about channels and messages.
    for path in ("/api/v1/channels", "/api/v1/messages?limit=100"):
        status, answer = await server.call("GET", path)
        assert status == 200, answer
        leaks.add(answer)
    pages = ["/admin/channels", "/admin/messages"]
    pages += [f"/admin/channels/{c['id']}" for c in channels]
    pages += [f"/admin/messages/{message_id}" for message_id in ids]
    for path in pages:
        status, page = await server.page("GET", path)
        assert status == 200, (path, page)
        leaks.add(page)
    for channel in channels:
        status, answer = await server.call("GET", f"/api/v1/channels/{channel['id']}")
        leaks.add(answer)


def _around(text: str, needle: str) -> str:
    at = text.find(needle)
    return text[max(0, at - 300) : at + 300]
