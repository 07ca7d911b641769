"""The request body's size limit, before any route reads it: a declared ``Content-Length``
over the limit is answered at once, and a body sent without one (chunked) is counted as it
arrives and answered as soon as it passes the limit. Either way nothing of it is stored."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def describe_limit(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    if limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"


def api_too_large(limit: int) -> Response:
    return JSONResponse(
        {
            "detail": f"body: the request body is larger than {describe_limit(limit)}; "
            "send less at once (e.g. fewer events per batch)",
            "field": "body",
        },
        status_code=413,
    )


class BodyLimit:
    """ASGI middleware: refuse a request body over ``limit`` bytes with a 413, answered by
    ``too_large(scope, limit)`` (JSON for the API, a page for the pages). The body is read here,
    whole, and handed on to the app; it is never larger than the limit."""

    def __init__(
        self, app: ASGIApp, *, limit: int, too_large: Callable[[Scope, int], Response]
    ) -> None:
        self.app = app
        self.limit = limit
        self.too_large = too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.limit:
            await self.too_large(scope, self.limit)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self.too_large(scope, self.limit)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body, once, as one message; then the client's own messages (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
