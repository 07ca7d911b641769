"""The FastAPI application: routes under /api/v1, health and metrics at the root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.responses import Response
from starlette.types import Scope

from clarion import __version__
from clarion.api.body_limit import BodyLimit, api_too_large, describe_limit
from clarion.api.deps import refuse_nul
from clarion.api.errors import install_error_handlers
from clarion.api.routes import (
    channels,
    event_types,
    events,
    health,
    inbox,
    messages,
    notifications,
    slack,
    users,
)
from clarion.service import Service
from clarion.web import admin, preferences, signin, unsubscribe
from clarion.web import channels as channel_pages
from clarion.web import inbox as inbox_page
from clarion.web import users as user_pages
from clarion.web.pages import install_page_errors, message_page


def create_app(service: Service) -> FastAPI:
    """The app around a service; the service starts and stops with the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="clarion",
        version=__version__,
        description="Self-hosted notification service: events in, durable delivery out.",
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],
        # FastAPI's docs pages load their script and styles from a public CDN, which the
        # pages' Content-Security-Policy forbids and no package in the stack ships; the
        # schema they read stays at /openapi.json, for any viewer run elsewhere.
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    install_error_handlers(app)
    install_page_errors(app)

    def too_large(scope: Scope, limit: int) -> Response:
        if str(scope.get("path", "")).startswith("/api/"):
            return api_too_large(limit)
        message = f"The form sent was larger than {describe_limit(limit)}."
        return message_page(service.brand, 413, "Too much", message)

    app.add_middleware(BodyLimit, limit=service.settings.max_request_bytes, too_large=too_large)
    routers = (health, users, events, event_types, channels, messages, notifications, inbox, slack)
    pages = (unsubscribe, preferences, signin, inbox_page, admin, channel_pages, user_pages)
    for module in (*routers, *pages):
        app.include_router(module.router)
    return app
