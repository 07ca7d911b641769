"""A local HTTP receiver that records every request and answers as a test scripts it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


async def serve_on_loopback(
    app: web.Application, **runner_options: Any
) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on a free loopback port: its runner (to clean up) and its base URL."""
    runner = web.AppRunner(app, access_log=None, **runner_options)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


class HttpSink:
    """``responder(request_number, received) -> Reply``; the default answers 200.

    ``delay``: seconds each answer waits, as a slow endpoint would.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.responder: Callable[[int, Received], Reply] = lambda n, r: Reply()
        self.delay = 0.0
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Condition()
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        received = Received(
            request.path_qs, dict(request.headers), await request.read(), time.monotonic()
        )
        self.received.append(received)
        reply = self.responder(len(self.received), received)
        async with self._arrived:
            self._arrived.notify_all()
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=reply.status, text=reply.body, headers=reply.headers)

    async def start(self) -> HttpSink:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner, self.url = await serve_on_loopback(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least ``count`` requests arrived."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.received) >= count), timeout
            )
        return self.received
