"""An HTTP receiver that misbehaves at random, as a flaky provider does under load.

Each request is recorded (with its ``X-Message-Id``) when its body has been read, then
answered by a fault drawn at random: 200, 500, 429 with ``Retry-After``, an answer slower
than the sender's time limit, or the connection reset without an answer.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from aiohttp import web

from tests.fakes.sink import serve_on_loopback

FAULTS = ("ok", "error", "throttle", "slow", "reset")


@dataclass(frozen=True)
class Copy:
    message_id: str
    at: float  # time.monotonic() when its body was read
    fault: str


class ChaosSink:
    def __init__(self, *, seed: int, ok_share: float = 0.6, slow_seconds: float = 1.5):
        self.copies: list[Copy] = []
        self._random = random.Random(seed)
        self._ok_share = ok_share
        self._slow = slow_seconds
        self._runner: web.AppRunner | None = None
        self.url = ""

    def _fault(self) -> str:
        if self._random.random() < self._ok_share:
            return "ok"
        return self._random.choice(FAULTS[1:])

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        fault = self._fault()
        self.copies.append(Copy(request.headers.get("X-Message-Id", ""), time.monotonic(), fault))
        if fault == "error":
            return web.Response(status=500, text="chaos: internal error")
        if fault == "throttle":
            return web.Response(status=429, text="chaos: slow down", headers={"Retry-After": "1"})
        if fault == "slow":
            await asyncio.sleep(self._slow)
        elif fault == "reset" and request.transport is not None:
            request.transport.abort()
            raise asyncio.CancelledError  # the connection is gone: nothing to answer
        return web.Response(text="ok")

    async def start(self) -> ChaosSink:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner, self.url = await serve_on_loopback(app, handler_cancellation=True)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
