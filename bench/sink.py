"""The benchmark's HTTP receiver, run in its own process: counts POSTs and answers 204.

``GET /stats`` gives the count and the arrival time (monotonic ns, shared clock on this
machine) of each message id seen in ``X-Message-Id``; ``POST /reset`` clears them.
"""

from __future__ import annotations

import sys
import time

from aiohttp import web

state: dict[str, object] = {"count": 0, "arrivals": {}}


async def hook(request: web.Request) -> web.Response:
    await request.read()
    state["count"] = int(state["count"]) + 1  # type: ignore[call-overload]
    message_id = request.headers.get("X-Message-Id")
    if message_id and state.get("record"):
        state["arrivals"][message_id] = time.monotonic_ns()  # type: ignore[index]
    return web.Response(status=204)


async def stats(request: web.Request) -> web.Response:
    return web.json_response({"count": state["count"], "arrivals": state["arrivals"]})


async def reset(request: web.Request) -> web.Response:
    state.update(count=0, arrivals={}, record=request.query.get("record") == "1")
    return web.Response(status=204)


def main(port: int) -> None:
    import uvloop

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/json", hook)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
