"""Who may call what: every API route and every page, against every kind of caller.

One row per route (method and path as the application declares them); a route without a
row fails the test, so a new route cannot land without saying who may use it. Each row
gives the status each caller gets: anonymous, a member, a template-admin, a user-admin,
an owner, and the bootstrap admin token. Members see nothing of other people's messages,
inbox, preferences or tokens, and no channel; a revoked token and a suspended user are
refused at once.

``CLARION_AUTHZ_DISCOVER=1`` prints the statuses observed, to write a new row from.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import ADMIN_TOKEN
from tests.fakes.sink import HttpSink

CALLERS = ("anon", "member", "template", "user_admin", "owner", "token")
SIGN_IN = 0  # a page's answer to a caller not signed in: a redirect to the sign-in page
_unique = itertools.count()


def _routes(app: Any) -> Iterator[tuple[str, str]]:
    def walk(routes: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
        for route in routes:
            if hasattr(route, "original_router"):  # an included router
                yield from walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif hasattr(route, "routes") and not hasattr(route, "methods"):
                yield from walk(route.routes, prefix + getattr(route, "path", ""))
            elif hasattr(route, "methods"):
                # /{channel_id:uuid} is /{channel_id} to its callers.
                path = re.sub(r"\{(\w+):\w+\}", r"{\1}", prefix + route.path)
                for method in sorted(route.methods - {"HEAD"}):
                    yield method, path

    return walk(app.routes)


@dataclass
class World:
    """The people and things the routes are called about, made fresh where a call uses
    something up (a deletion)."""

    running: Any
    sink: HttpSink
    tokens: dict[str, str | None]
    cookies: dict[str, str | None]
    target: dict[str, Any]  # a member the callers are not
    target_message: str
    channel: str

    async def new_member(self) -> dict[str, Any]:
        return dict(await self.running.create_user(f"m{next(_unique)}@example.com"))

    async def new_channel(self) -> str:
        status, channel = await self.running.call(
            "POST",
            "/api/v1/channels",
            json={
                "name": f"ops {next(_unique)}",
                "kind": "webhook",
                "config": {"endpoint": self.sink.url + "/hook"},
                "events": ["test_notification"],
            },
        )
        assert status == 201, channel
        return str(channel["id"])

    async def new_token_id(self, user: dict[str, Any]) -> str:
        status, token = await self.running.call(
            "POST", f"/api/v1/users/{user['id']}/tokens", json={}
        )
        assert status == 201, token
        return str(token["id"])


Call = Callable[[World], Awaitable[tuple[str, Any]]]  # the path filled in, and the JSON body


def at(path: str, body: Any = None) -> Call:
    async def call(world: World) -> tuple[str, Any]:
        return path.format(
            ref=world.target["id"], message_id=world.target_message, channel_id=world.channel
        ), body

    return call


def fresh_user(path: str, body: Any = None) -> Call:
    async def call(world: World) -> tuple[str, Any]:
        return path.format(ref=(await world.new_member())["id"]), body

    return call


def fresh_channel(path: str, body: Any = None) -> Call:
    async def call(world: World) -> tuple[str, Any]:
        return path.format(channel_id=await world.new_channel()), body

    return call


def fresh_token(path: str) -> Call:
    async def call(world: World) -> tuple[str, Any]:
        user = await world.new_member()
        return path.format(ref=user["id"], token_id=await world.new_token_id(user)), None

    return call


def new_user_body(path: str) -> Call:
    async def call(world: World) -> tuple[str, Any]:
        return path, {"email": f"new{next(_unique)}@example.com"}

    return call


def new_channel_body(path: str) -> Call:
    async def call(world: World) -> tuple[str, Any]:
        config = {"endpoint": "http://127.0.0.1:9/"}
        return path, {"name": f"new {next(_unique)}", "kind": "webhook", "config": config}

    return call


def new_type_body(path: str) -> Call:
    async def call(world: World) -> tuple[str, Any]:
        return path, {
            "key": f"custom_{next(_unique)}",
            "name": "Custom",
            "group": "Custom",
            "title_template": "Hello",
            "body_template": "Hello",
        }

    return call


def fresh_type(path: str, body: Any = None) -> Call:
    async def call(world: World) -> tuple[str, Any]:
        _, created = await new_type_body("")(world)
        status, answer = await world.running.call("POST", "/api/v1/event-types", json=created)
        assert status == 201, answer
        return path.format(key=created["key"]), body

    return call


EVENT = {
    "type": "workspace_deleted",
    "user_email": "zed@example.com",
    "labels": {"name": "dev", "reason": "idle", "initiator": "ops"},
}
WEBHOOK_TEST = {"kind": "webhook", "config": {"endpoint": "http://127.0.0.1:9/none"}}

ROWS: dict[tuple[str, str], Call] = {
    ("GET", "/openapi.json"): at("/openapi.json"),
    ("GET", "/healthz"): at("/healthz"),
    ("GET", "/readyz"): at("/readyz"),
    ("GET", "/metrics"): at("/metrics"),
    ("POST", "/api/v1/users"): new_user_body("/api/v1/users"),
    ("GET", "/api/v1/users"): at("/api/v1/users"),
    ("GET", "/api/v1/users/{ref}"): at("/api/v1/users/{ref}"),
    ("PATCH", "/api/v1/users/{ref}"): at("/api/v1/users/{ref}", {"name": "Zed"}),
    ("DELETE", "/api/v1/users/{ref}"): fresh_user("/api/v1/users/{ref}"),
    ("POST", "/api/v1/users/{ref}/tokens"): at("/api/v1/users/{ref}/tokens", {}),
    ("GET", "/api/v1/users/{ref}/tokens"): at("/api/v1/users/{ref}/tokens"),
    ("DELETE", "/api/v1/users/{ref}/tokens/{token_id}"): fresh_token(
        "/api/v1/users/{ref}/tokens/{token_id}"
    ),
    ("GET", "/api/v1/users/{ref}/preferences"): at("/api/v1/users/{ref}/preferences"),
    ("PUT", "/api/v1/users/{ref}/preferences"): at(
        "/api/v1/users/{ref}/preferences", {"disabled": []}
    ),
    ("POST", "/api/v1/events"): at("/api/v1/events", EVENT),
    ("POST", "/api/v1/events/batch"): at("/api/v1/events/batch", {"events": [EVENT]}),
    ("GET", "/api/v1/event-types"): at("/api/v1/event-types"),
    ("GET", "/api/v1/event-types/{key}"): at("/api/v1/event-types/workspace_deleted"),
    ("POST", "/api/v1/event-types"): new_type_body("/api/v1/event-types"),
    ("PUT", "/api/v1/event-types/{key}"): at(
        "/api/v1/event-types/workspace_deleted", {"enabled": True}
    ),
    ("DELETE", "/api/v1/event-types/{key}"): fresh_type("/api/v1/event-types/{key}"),
    ("GET", "/api/v1/channels/kinds"): at("/api/v1/channels/kinds"),
    ("GET", "/api/v1/channels"): at("/api/v1/channels"),
    ("POST", "/api/v1/channels"): new_channel_body("/api/v1/channels"),
    ("GET", "/api/v1/channels/{channel_id}"): at("/api/v1/channels/{channel_id}"),
    ("PATCH", "/api/v1/channels/{channel_id}"): at(
        "/api/v1/channels/{channel_id}", {"enabled": True}
    ),
    ("DELETE", "/api/v1/channels/{channel_id}"): fresh_channel("/api/v1/channels/{channel_id}"),
    ("POST", "/api/v1/channels/test"): at("/api/v1/channels/test", WEBHOOK_TEST),
    ("POST", "/api/v1/channels/{channel_id}/test"): at("/api/v1/channels/{channel_id}/test"),
    ("GET", "/api/v1/messages"): at("/api/v1/messages"),
    ("GET", "/api/v1/messages/stats"): at("/api/v1/messages/stats"),
    ("GET", "/api/v1/messages/{message_id}"): at("/api/v1/messages/{message_id}"),
    ("POST", "/api/v1/messages/{message_id}/retry"): at("/api/v1/messages/{message_id}/retry"),
    ("GET", "/api/v1/notifications/settings"): at("/api/v1/notifications/settings"),
    ("PUT", "/api/v1/notifications/settings"): at(
        "/api/v1/notifications/settings", {"paused": False}
    ),
    ("POST", "/api/v1/notifications/test"): at("/api/v1/notifications/test"),
    ("GET", "/api/v1/inbox"): at("/api/v1/inbox"),
    ("POST", "/api/v1/inbox/read-all"): at("/api/v1/inbox/read-all"),
    ("POST", "/api/v1/inbox/{message_id}/read"): at("/api/v1/inbox/{message_id}/read"),
    ("GET", "/api/v1/inbox/stream"): at("/api/v1/inbox/stream"),
    # Slack signs its requests; no token is asked (and, unconfigured, it is off).
    ("POST", "/api/v1/slack/interactions"): at("/api/v1/slack/interactions"),
    ("GET", "/unsubscribe/{token}"): at("/unsubscribe/not-a-link"),
    ("POST", "/unsubscribe/{token}"): at("/unsubscribe/not-a-link"),
    ("GET", "/settings/notifications"): at("/settings/notifications"),
    ("POST", "/settings/notifications"): at("/settings/notifications"),
    ("GET", "/signin"): at("/signin"),
    ("POST", "/signin"): at("/signin"),
    ("POST", "/signout"): at("/signout"),
    ("GET", "/"): at("/"),
    ("GET", "/inbox/stream"): at("/inbox/stream"),
    ("GET", "/static/inbox.js"): at("/static/inbox.js"),
    ("POST", "/inbox/read-all"): at("/inbox/read-all"),
    ("POST", "/inbox/{ref}/read"): at("/inbox/{message_id}/read"),
    ("GET", "/admin/messages"): at("/admin/messages"),
    ("GET", "/admin/messages/{ref}"): at("/admin/messages/{message_id}"),
    ("POST", "/admin/messages/{ref}/retry"): at("/admin/messages/{message_id}/retry"),
    ("GET", "/admin/event-types"): at("/admin/event-types"),
    ("POST", "/admin/event-types/{key}"): at("/admin/event-types/workspace_deleted"),
    ("POST", "/admin/pause"): at("/admin/pause"),
    ("GET", "/admin/channels"): at("/admin/channels"),
    ("GET", "/admin/channels/new"): at("/admin/channels/new"),
    ("POST", "/admin/channels/new"): at("/admin/channels/new"),
    ("GET", "/admin/channels/{ref}"): at("/admin/channels/{channel_id}"),
    ("POST", "/admin/channels/{ref}"): at("/admin/channels/{channel_id}"),
    ("POST", "/admin/channels/{ref}/test"): at("/admin/channels/{channel_id}/test"),
    ("GET", "/admin/channels/{ref}/remove"): at("/admin/channels/{channel_id}/remove"),
    ("POST", "/admin/channels/{ref}/remove"): fresh_channel("/admin/channels/{channel_id}/remove"),
    ("GET", "/admin/users"): at("/admin/users"),
    ("POST", "/admin/users"): at("/admin/users"),
    ("POST", "/admin/users/{ref}/status"): at("/admin/users/{ref}/status"),
    ("POST", "/admin/users/{ref}/tokens"): at("/admin/users/{ref}/tokens"),
    ("GET", "/admin/users/{ref}/delete"): at("/admin/users/{ref}/delete"),
    ("POST", "/admin/users/{ref}/delete"): fresh_user("/admin/users/{ref}/delete"),
}

# The status each caller gets, in CALLERS' order: anonymous, member, template-admin,
# user-admin, owner, the admin token. SIGN_IN (0): a page sends the caller to sign in.
# Pages that redirect after doing their work answer 303; a form missing its fields, 422.
EXPECTED: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST", "/api/v1/slack/interactions"): (404, 404, 404, 404, 404, 404),
    ("DELETE", "/api/v1/channels/{channel_id}"): (401, 403, 403, 204, 204, 204),
    ("DELETE", "/api/v1/event-types/{key}"): (401, 403, 403, 204, 204, 204),
    ("DELETE", "/api/v1/users/{ref}"): (401, 403, 403, 204, 204, 204),
    ("DELETE", "/api/v1/users/{ref}/tokens/{token_id}"): (401, 404, 404, 403, 204, 204),
    ("GET", "/"): (0, 200, 200, 200, 200, 303),
    ("GET", "/admin/channels"): (0, 403, 403, 200, 200, 200),
    ("GET", "/admin/channels/new"): (0, 403, 403, 200, 200, 200),
    ("GET", "/admin/channels/{ref}"): (0, 403, 403, 200, 200, 200),
    ("GET", "/admin/channels/{ref}/remove"): (0, 403, 403, 200, 200, 200),
    ("GET", "/admin/event-types"): (0, 403, 403, 200, 200, 200),
    ("GET", "/admin/messages"): (0, 403, 403, 200, 200, 200),
    ("GET", "/admin/messages/{ref}"): (0, 403, 403, 200, 200, 200),
    ("GET", "/admin/users"): (0, 403, 403, 200, 200, 200),
    ("GET", "/admin/users/{ref}/delete"): (0, 403, 403, 200, 200, 200),
    ("GET", "/api/v1/channels"): (401, 403, 403, 200, 200, 200),
    ("GET", "/api/v1/channels/kinds"): (401, 403, 403, 200, 200, 200),
    ("GET", "/api/v1/channels/{channel_id}"): (401, 403, 403, 200, 200, 200),
    ("GET", "/api/v1/event-types"): (401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/event-types/{key}"): (401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/inbox"): (401, 200, 200, 200, 200, 400),
    ("GET", "/api/v1/inbox/stream"): (401, 200, 200, 200, 200, 400),
    ("GET", "/api/v1/messages"): (401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/messages/stats"): (401, 403, 403, 200, 200, 200),
    ("GET", "/api/v1/messages/{message_id}"): (401, 404, 404, 200, 200, 200),
    ("GET", "/api/v1/notifications/settings"): (401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/users"): (401, 403, 403, 200, 200, 200),
    ("GET", "/api/v1/users/{ref}"): (401, 404, 404, 200, 200, 200),
    ("GET", "/api/v1/users/{ref}/preferences"): (401, 404, 404, 200, 200, 200),
    ("GET", "/api/v1/users/{ref}/tokens"): (401, 404, 404, 403, 200, 200),
    ("GET", "/healthz"): (200, 200, 200, 200, 200, 200),
    ("GET", "/inbox/stream"): (0, 200, 200, 200, 200, 404),
    ("GET", "/metrics"): (200, 200, 200, 200, 200, 200),
    ("GET", "/openapi.json"): (200, 200, 200, 200, 200, 200),
    ("GET", "/readyz"): (200, 200, 200, 200, 200, 200),
    ("GET", "/settings/notifications"): (200, 200, 200, 200, 200, 200),
    ("GET", "/signin"): (200, 303, 303, 303, 303, 303),
    ("GET", "/static/inbox.js"): (200, 200, 200, 200, 200, 200),
    ("GET", "/unsubscribe/{token}"): (404, 404, 404, 404, 404, 404),
    ("PATCH", "/api/v1/channels/{channel_id}"): (401, 403, 403, 200, 200, 200),
    ("PATCH", "/api/v1/users/{ref}"): (401, 403, 403, 200, 200, 200),
    ("POST", "/admin/channels/new"): (0, 403, 403, 404, 404, 404),
    ("POST", "/admin/channels/{ref}"): (0, 403, 403, 422, 422, 422),
    ("POST", "/admin/channels/{ref}/remove"): (0, 403, 403, 303, 303, 303),
    ("POST", "/admin/channels/{ref}/test"): (0, 403, 403, 200, 200, 200),
    ("POST", "/admin/event-types/{key}"): (0, 403, 403, 303, 303, 303),
    ("POST", "/admin/messages/{ref}/retry"): (0, 403, 403, 409, 409, 409),
    ("POST", "/admin/pause"): (0, 403, 403, 422, 422, 422),
    ("POST", "/admin/users"): (0, 403, 403, 422, 422, 422),
    ("POST", "/admin/users/{ref}/delete"): (0, 403, 403, 303, 303, 303),
    ("POST", "/admin/users/{ref}/status"): (0, 403, 403, 422, 422, 422),
    ("POST", "/admin/users/{ref}/tokens"): (0, 403, 403, 403, 200, 200),
    ("POST", "/api/v1/channels"): (401, 403, 403, 201, 201, 201),
    ("POST", "/api/v1/channels/test"): (401, 403, 403, 200, 200, 200),
    ("POST", "/api/v1/channels/{channel_id}/test"): (401, 403, 403, 200, 200, 200),
    ("POST", "/api/v1/event-types"): (401, 403, 403, 201, 201, 201),
    ("POST", "/api/v1/events"): (401, 403, 403, 202, 202, 202),
    ("POST", "/api/v1/events/batch"): (401, 403, 403, 202, 202, 202),
    ("POST", "/api/v1/inbox/read-all"): (401, 200, 200, 200, 200, 400),
    ("POST", "/api/v1/inbox/{message_id}/read"): (401, 404, 404, 404, 404, 400),
    ("POST", "/api/v1/messages/{message_id}/retry"): (401, 403, 403, 409, 409, 409),
    ("POST", "/api/v1/notifications/test"): (401, 202, 202, 202, 202, 400),
    ("POST", "/api/v1/users"): (401, 403, 403, 201, 201, 201),
    ("POST", "/api/v1/users/{ref}/tokens"): (401, 404, 404, 403, 201, 201),
    ("POST", "/inbox/read-all"): (0, 303, 303, 303, 303, 303),
    ("POST", "/inbox/{ref}/read"): (0, 404, 404, 404, 404, 404),
    ("POST", "/settings/notifications"): (0, 303, 303, 303, 303, 200),
    ("POST", "/signin"): (401, 401, 401, 401, 401, 401),
    ("POST", "/signout"): (0, 0, 0, 0, 0, 0),
    ("POST", "/unsubscribe/{token}"): (404, 404, 404, 404, 404, 404),
    ("PUT", "/api/v1/event-types/{key}"): (401, 403, 403, 200, 200, 200),
    ("PUT", "/api/v1/notifications/settings"): (401, 403, 403, 200, 200, 200),
    ("PUT", "/api/v1/users/{ref}/preferences"): (401, 404, 404, 200, 200, 200),
}


@pytest.fixture
async def world(start_server, sink: HttpSink) -> World:
    running = await start_server(method="inbox")
    tokens: dict[str, str | None] = {"anon": None, "token": ADMIN_TOKEN}
    for caller, role in (
        ("member", "member"),
        ("template", "template-admin"),
        ("user_admin", "user-admin"),
        ("owner", "owner"),
    ):
        user = await running.create_user(f"{caller}@example.com", roles=[role])
        status, token = await running.call("POST", f"/api/v1/users/{user['id']}/tokens", json={})
        assert status == 201, token
        tokens[caller] = token["token"]
    cookies = {
        caller: (await running.session_cookie(token) if token else None)
        for caller, token in tokens.items()
    }
    target = await running.create_user("zed@example.com")
    status, event = await running.call("POST", "/api/v1/events", json=EVENT)
    assert status == 202, event
    world = World(running, sink, tokens, cookies, target, event["messages"][0]["id"], "")
    world.channel = await world.new_channel()
    return world


async def _status(world: World, caller: str, method: str, path: str, body: Any) -> int:
    """The answer's status, or SIGN_IN for a redirect to the sign-in page."""
    running = world.running
    headers = {"Origin": running.url}
    if world.tokens[caller]:
        headers["Authorization"] = f"Bearer {world.tokens[caller]}"
    if world.cookies[caller]:
        headers["Cookie"] = f"clarion_session={world.cookies[caller]}"
    async with running.http.request(
        method, running.url + path, headers=headers, json=body, allow_redirects=False
    ) as answer:  # not read: a stream would never end
        if answer.status == 303 and answer.headers["Location"].startswith("/signin"):
            return SIGN_IN
        return answer.status


async def test_every_route_has_a_row(start_server) -> None:
    """A route without a row would be untested: the table names each one, and no other."""
    running = await start_server(dispatch=False)
    declared = set(_routes(running.app))
    assert declared - set(ROWS) == set(), "routes without a row in the authorization test"
    assert set(ROWS) - declared == set(), "rows for routes that do not exist"
    assert set(EXPECTED) == set(ROWS)


async def test_a_revoked_token_and_a_suspended_user_are_refused_at_once(start_server) -> None:
    running = await start_server(dispatch=False)
    ann = await running.create_user("ann@example.com")
    _, first = await running.call("POST", f"/api/v1/users/{ann['id']}/tokens", json={})
    _, second = await running.call("POST", f"/api/v1/users/{ann['id']}/tokens", json={})
    cookie = await running.session_cookie(first["token"])
    assert (await running.call("GET", "/api/v1/inbox", token=first["token"]))[0] == 200
    status, _ = await running.call("DELETE", f"/api/v1/users/{ann['id']}/tokens/{first['id']}")
    assert status == 204
    assert (await running.call("GET", "/api/v1/inbox", token=first["token"]))[0] == 401
    async with running.http.get(
        running.url + "/", headers={"Cookie": f"clarion_session={cookie}"}, allow_redirects=False
    ) as page:
        assert page.status == 303 and page.headers["Location"].startswith("/signin")
    assert (await running.call("GET", "/api/v1/inbox", token=second["token"]))[0] == 200
    status, _ = await running.call(
        "PATCH", f"/api/v1/users/{ann['id']}", json={"status": "suspended"}
    )
    assert status == 200
    assert (await running.call("GET", "/api/v1/inbox", token=second["token"]))[0] == 401


@pytest.mark.slow
async def test_who_may_call_what(world: World) -> None:
    observed: dict[tuple[str, str], tuple[int, ...]] = {}
    # Signing out ends each caller's session: last.
    for key, call in sorted(ROWS.items(), key=lambda row: row[0] == ("POST", "/signout")):
        method = key[0]
        statuses = []
        for caller in CALLERS:
            path, body = await call(world)
            statuses.append(await _status(world, caller, method, path, body))
        observed[key] = tuple(statuses)
    if os.environ.get("CLARION_AUTHZ_DISCOVER"):
        for key, statuses in observed.items():
            print(f"DISCOVERED {key!r}: {statuses},")
    wrong = {
        key: (expected, observed.get(key))
        for key, expected in EXPECTED.items()
        if expected != observed.get(key)
    }
    assert wrong == {}, "route: (expected, observed) per caller " + repr(CALLERS)
