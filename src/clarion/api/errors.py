"""Error responses: always JSON ``{"detail": "…"}`` with a message that names the problem."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from clarion.access.validation import describe_validation_errors
from clarion.errors import ClarionError, Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from clarion.store.db import ERRORS_THAT_MAY_BE_AN_OUTAGE, unavailable_reason

# How long a client is asked to wait when the database is unreachable.
OUTAGE_RETRY_AFTER = 5


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        raise exc
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        err = next(e for e in errors if e.get("type") == "json_invalid")
        detail = f"malformed JSON in the request body: {err.get('ctx', {}).get('error', 'invalid')}"
        return JSONResponse({"detail": detail}, status_code=400)
    simplified = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors
    ]
    return JSONResponse(
        {"detail": describe_validation_errors(errors), "errors": simplified}, status_code=422
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 while the database is down: nothing was stored (every write is one transaction),
    so the client may send the same request again."""
    reason = unavailable_reason(exc)
    if reason is None:
        raise exc
    detail = f"the database is unavailable: {reason}; nothing was stored, try again shortly"
    return JSONResponse(
        {"detail": detail}, status_code=503, headers={"Retry-After": str(OUTAGE_RETRY_AFTER)}
    )


# The domain's errors as HTTP statuses, in this one place.
STATUS_OF: dict[type[ClarionError], int] = {
    NotFound: 404,
    Unauthenticated: 401,
    Conflict: 409,
    Forbidden: 403,
    Invalid: 422,
}


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, ClarionError):
        raise exc
    status = next((code for kind, code in STATUS_OF.items() if isinstance(exc, kind)), 400)
    body: dict[str, Any] = {"detail": str(exc)}
    if isinstance(exc, Invalid) and exc.field:
        body["field"] = exc.field
    return JSONResponse(body, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ClarionError, _domain_error)
    for error in ERRORS_THAT_MAY_BE_AN_OUTAGE:
        app.add_exception_handler(error, _database_unavailable)
    app.add_exception_handler(RequestValidationError, _validation_error)
