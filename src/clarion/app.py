"""The application put together: the API and the web pages side by side on one service, with
what applies to every request (the body limit, the NUL check, both kinds of error answer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.responses import Response
from starlette.types import Scope

from clarion import __version__
from clarion.access import refuse_nul
from clarion.api import openapi
from clarion.api.body_limit import BodyLimit, api_too_large, describe_limit
from clarion.api.errors import install_error_handlers
from clarion.api.router import router as api_router
from clarion.service import Service
from clarion.web.pages import install_page_errors, message_page
from clarion.web.router import router as pages_router


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
    app.include_router(api_router)
    app.include_router(pages_router)
    openapi.install(app)
    return app
