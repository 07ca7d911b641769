"""Shared fixtures: real SQLite and PostgreSQL databases, a running server, HTTP and SMTP peers.

Every test that takes ``db_url`` runs twice, on SQLite and on PostgreSQL. PostgreSQL is the
one at 127.0.0.1:5432 (user postgres, database test); each test run creates its own
database there and drops it at the end, so parallel runs never collide.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
import uvicorn
from playwright.async_api import Browser, async_playwright

from clarion.app import create_app
from clarion.config import Settings
from clarion.server import server_config
from clarion.service import Service
from clarion.store.db import Database
from clarion.store.migrate import migrate
from clarion.store.tables import metadata
from tests.fakes.chat import FakeSlack
from tests.fakes.sink import HttpSink

PG_ADMIN_URL = os.environ.get("CLARION_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_TOKEN = "test-admin-token-" + "x" * 16
# Screenshots of pages and emails that tests open in Chromium.
ARTIFACTS = Path(os.environ.get("CLARION_TEST_ARTIFACTS", "test-artifacts"))


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _pg_admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run, dropped afterwards."""
    name = f"clarion_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        _run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except OSError as exc:  # pragma: no cover - the environment promises PostgreSQL
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    async def setup() -> None:
        db = Database(url)
        await migrate(db)
        await db.close()

    _run(setup())
    yield url
    _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"

    async def setup() -> None:
        db = Database(f"sqlite:///{path}")
        await migrate(db)
        await db.close()  # the last connection closing checkpoints the WAL into the file

    _run(setup())
    return path


async def _truncate_pg(url: str) -> None:
    db = Database(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with db.begin() as conn:
        await conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))
    await db.close()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "clarion.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_database_url")
        _run(_truncate_pg(url))
        yield url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def make_settings(db_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": db_url,
            "data_dir": tmp_path / "data",
            "http_address": f"127.0.0.1:{free_port()}",
            "admin_token": ADMIN_TOKEN,
            "allow_private_destinations": True,
            "fetch_interval": "1s",
            "retry_interval": "200ms",
            "lease_period": "30s",
            "dispatch_timeout": "5s",
            "method": "webhook",
        }
        values.update(overrides)
        return Settings(**values)

    return factory


@dataclass
class Running:
    """A clarion server on a loopback port, and an admin API session for it."""

    service: Service
    url: str
    http: aiohttp.ClientSession
    app: Any = None  # the ASGI application it serves

    async def call(
        self, method: str, path: str, *, token: str | None = ADMIN_TOKEN, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(kwargs.pop("headers", {}))
        async with self.http.request(method, self.url + path, headers=headers, **kwargs) as r:
            body = await r.json(content_type=None) if r.status != 204 else None
            return r.status, body

    async def session_cookie(self, token: str = ADMIN_TOKEN) -> str:
        """Sign in on the pages with ``token``: the session cookie's value."""
        async with self.http.post(
            self.url + "/signin",
            data={"token": token, "next": "/"},
            headers={"Origin": self.url},
            allow_redirects=False,
        ) as answer:
            assert answer.status == 303, await answer.text()
            return answer.cookies["clarion_session"].value

    async def post_deleted(
        self, email: str = "ann@example.com", name: str = "dev", **labels: str
    ) -> dict[str, Any]:
        """Post a ``workspace_deleted`` event (distinct names escape the daily dedupe)."""
        body = {
            "type": "workspace_deleted",
            "user_email": email,
            "labels": {"name": name, "reason": "idle", "initiator": "ops", **labels},
        }
        status, answer = await self.call("POST", "/api/v1/events", json=body)
        assert status == 202, answer
        return dict(answer)

    async def create_user(self, email: str, roles: list[str] | None = None, **extra: Any) -> Any:
        status, body = await self.call(
            "POST", "/api/v1/users", json={"email": email, "roles": roles or ["member"], **extra}
        )
        assert status == 201, body
        return body

    async def wait_status(
        self, message_id: str, statuses: set[str], timeout: float = 10.0
    ) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            status, body = await self.call("GET", f"/api/v1/messages/{message_id}")
            assert status == 200, body
            if body["status"] in statuses:
                return dict(body)
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"message stayed {body['status']}: {body}")
            await asyncio.sleep(0.05)


@pytest.fixture
async def start_server(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[Callable[..., Any]]:
    """Start clarion (API + dispatcher) in this event loop; stopped after the test."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
    session = aiohttp.ClientSession()

    async def start(dispatch: bool = True, **overrides: Any) -> Running:
        settings = make_settings(**overrides)
        service = Service(settings, dispatch=dispatch)
        # As `clarion server` starts it (trusted proxies included).
        app = create_app(service)
        config = server_config(app, settings)
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        servers.append((server, task))
        url = f"http://{settings.http_address}"
        return Running(service=service, url=url, http=session, app=app)

    yield start
    for server, task in servers:
        server.should_exit = True
        await task
    await session.close()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """Slack's incoming-webhook endpoint, imitated (see tests/fakes/chat.py)."""
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def sink() -> AsyncIterator[HttpSink]:
    receiver = await HttpSink().start()
    yield receiver
    await receiver.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Page tests drive Chromium for seconds apiece: they are ``slow``, out of the inner loop."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


# The switches Playwright itself launches Chromium with that matter to these tests: no
# throttling of pages in the background, no first-run or network chatter, stable rendering.
CHROMIUM_SWITCHES = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-back-forward-cache",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-popup-blocking",
    "--no-default-browser-check",
    "--no-first-run",
    "--password-store=basic",
    "--force-color-profile=srgb",
    "--hide-scrollbars",
    "--mute-audio",
]


@pytest.fixture(scope="session")
def chromium_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One headless Debian Chromium for the whole run, on a loopback DevTools port.

    Starting Chromium for each page test cost more than most of those tests; each test now
    connects to this one (see ``browser``) in its own event loop, with fresh contexts.
    """
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [
            shutil.which("chromium") or "chromium",
            *CHROMIUM_SWITCHES,
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",  # Chromium picks a free port and writes it down
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        lines: list[str] = []
        while len(lines) < 2:  # the port, then the browser's path
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"Chromium did not open its DevTools port ({process.returncode})"
                )
            time.sleep(0.05)
            lines = active.read_text().split() if active.exists() else []
        yield f"ws://127.0.0.1:{lines[0]}{lines[1]}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def browser(chromium_endpoint: str) -> AsyncIterator[Browser]:
    """The session's Chromium driven by Playwright; what the test opens is closed after it."""
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    async with async_playwright() as p:
        chromium = await p.chromium.connect_over_cdp(chromium_endpoint)
        try:
            yield chromium
        finally:
            await chromium.close()  # closes this test's contexts, leaves Chromium running
