"""Request dependencies: the service or just its database, the caller (bearer token) and
permission checks, and the check every request's body goes through."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clarion import encoding
from clarion.access.principal import Principal, principal_for
from clarion.service import Service
from clarion.store.db import Database
from clarion.store.users import User

_bearer = HTTPBearer(auto_error=False, description="a user's API token or CLARION_ADMIN_TOKEN")
# The request's bearer token itself, for what must look it up again later (a long stream).
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def get_service(request: Request) -> Service:
    # async: FastAPI runs a plain ``def`` dependency in its thread pool, a thread hop on
    # every request.
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


async def get_database(service: ServiceDep) -> Database:
    return service.db


# For a route that only reads and writes rows: it needs nothing else of the service.
DatabaseDep = Annotated[Database, Depends(get_database)]


def _nul_at(value: Any, path: str) -> str | None:
    """Where in a JSON value a string holds NUL (U+0000), or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return inner
            if (found := _nul_at(item, inner)) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (found := _nul_at(item, f"{path}[{index}]")) is not None:
                return found
    return None


async def refuse_nul(request: Request) -> None:
    """Every request: PostgreSQL's text and jsonb cannot hold NUL (U+0000), so a body with
    one is a 422 naming where it is, on every engine, not a 500 when stored. The body's
    bytes are searched (JSON can only carry NUL as an escape); only a hit is parsed."""
    body = await request.body()
    if b"\\u0000" not in body and b"\x00" not in body:
        return
    try:
        where = _nul_at(encoding.loads(body), "")
    except ValueError:  # not JSON (a form): the raw NUL is somewhere in it
        where = "body" if b"\x00" in body else None
    if where is not None:
        raise HTTPException(
            422, f"{where} contains a NUL character (\\u0000), which cannot be stored"
        )


async def get_principal(service: ServiceDep, credentials: BearerDep) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            401,
            "missing bearer token: send 'Authorization: Bearer <token>' "
            "(create one with `clarion tokens create`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = await principal_for(service, credentials.credentials)
    if principal is None:
        raise HTTPException(
            401,
            "invalid bearer token: it is unknown, expired, or its user is not active",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_admin(principal: PrincipalDep) -> Principal:
    if not principal.is_admin:
        raise HTTPException(403, "this needs the owner or user-admin role")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]


def require_user(principal: Principal) -> User:
    """The caller's own user; the admin token has none."""
    if principal.user is None:
        raise HTTPException(
            400,
            "the admin token has no user of its own: call this with a user's API token",
        )
    return principal.user
