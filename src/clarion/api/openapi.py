"""The OpenAPI document says what the API does: every status an operation can answer, with
clarion's own error body, and the content types it really sends.

FastAPI documents each route's success and its own shape of validation error; clarion's
errors are ``{"detail": …, "field"?: …, "errors"?: […]}`` for every 4xx and 5xx (see
:mod:`clarion.api.errors`), so the document is completed here, in one place, rather than
by repeating ``responses=`` on every route.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.responses import Response

API_PREFIX = "/api/v1/"
ERROR_REF = "#/components/schemas/Error"

# What each error status means, for every API operation.
ERRORS: dict[int, str] = {
    400: "The body is not JSON that parses, or the caller has no user of its own where one "
    "is needed (the admin token).",
    401: "No valid token: missing, unknown, expired or revoked, or its user is suspended.",
    403: "The caller's roles do not allow this.",
    404: "No such thing, or not one the caller may see.",
    409: "It clashes with the current state (a name taken, a message that is not failed).",
    413: "The request body is larger than CLARION_MAX_REQUEST_BYTES.",
    422: "An input is invalid; `detail` names the field and says what to send.",
    429: "Too many requests of this kind; `Retry-After` says when to try again.",
    503: "The database is unavailable; nothing was stored; `Retry-After` says when to retry.",
}
# Operations outside the API that answer something other than JSON.
CONTENT_TYPES: dict[str, str] = {
    "/metrics": "text/plain",
    "/api/v1/inbox/stream": "text/event-stream",
}
# What each event of a stream carries as its data.
STREAM_EVENTS: dict[str, str] = {"/api/v1/inbox/stream": "InboxItem"}


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="where the bad input is, e.g. body, labels, name")
    msg: str
    type: str


class Error(BaseModel):
    """Every error answer: what was wrong and what to do, naming the field."""

    detail: str
    field: str | None = Field(None, description="the input at fault, e.g. events[1].type")
    errors: list[FieldError] | None = Field(None, description="each invalid input (422)")


def _stream_event(data_model: str) -> dict[str, Any]:
    """One Server-Sent Event: its fields, the data a JSON document of ``data_model``. A
    comment line (connected, heartbeat) is an event with no fields."""
    return {
        "type": "object",
        "properties": {
            "event": {"type": "string"},
            "id": {"type": "string"},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": {"$ref": f"#/components/schemas/{data_model}"},
            },
            "retry": {"type": "integer"},
        },
    }


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with clarion's errors on every API operation and the real content types."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    error_schema = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["Error"] = error_schema
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if path.startswith(API_PREFIX):
                for status, description in ERRORS.items():
                    responses[str(status)] = _error_response(description)
            if path in CONTENT_TYPES:
                for code, response in responses.items():
                    if code.startswith("2"):
                        described = [
                            c["schema"]
                            for c in response.get("content", {}).values()
                            if c.get("schema")
                        ]
                        body = described[0] if described else {"type": "string"}
                        if path in STREAM_EVENTS:
                            body = _stream_event(STREAM_EVENTS[path])
                        response["content"] = {CONTENT_TYPES[path]: {"schema": body}}
    return schema


def _allowed_methods(schema: dict[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    """Each documented path as a pattern, with the methods it takes (``Allow``'s value)."""
    out = []
    # A literal path before a template that also matches it (/channels/kinds, /{id}).
    for path, operations in sorted(schema.get("paths", {}).items(), key=lambda p: "{" in p[0]):
        pattern = re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$")
        methods = sorted(m.upper() for m in operations if m != "parameters")
        out.append((pattern, ", ".join(methods)))
    return out


def install(app: FastAPI) -> None:
    """Serve the completed document at the application's OpenAPI URL, and answer a method a
    documented path does not take with every method it does (Starlette's 405 names only
    those of the first route that matched the path)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    allowed: list[tuple[re.Pattern[str], str]] = []

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)  # registered for it alone
        if exc.status_code == 405:
            if not allowed:
                allowed.extend(_allowed_methods(app.openapi()))
            path = request.url.path
            methods = next((m for pattern, m in allowed if pattern.match(path)), None)
            if methods:
                exc = HTTPException(
                    405, f"{request.method} is not taken here; use {methods}", {"Allow": methods}
                )
        return await http_exception_handler(request, exc)

    app.add_exception_handler(HTTPException, method_not_allowed)
