"""Error responses: always JSON ``{"detail": "…"}`` with a message that names the problem."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from clarion.intake.events import IntakeError


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def describe_validation_errors(errors: list[dict[str, Any]]) -> str:
    messages = []
    for error in errors:
        where = _location(error.get("loc", ()))
        messages.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(messages)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
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


async def _intake_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IntakeError)
    body: dict[str, Any] = {"detail": str(exc)}
    if exc.field:
        body["field"] = exc.field
    return JSONResponse(body, status_code=exc.status_code)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(IntakeError, _intake_error)
