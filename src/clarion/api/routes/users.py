"""Users and their API tokens. Changing a user emits clarion's own user events, as Coder does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Response

from clarion.access import AdminDep, Principal, PrincipalDep, ServiceDep, actor_of
from clarion.api.jsonable import json_row
from clarion.api.schemas import (
    Preferences,
    PreferencesOut,
    TokenCreate,
    TokenCreated,
    TokenList,
    UserCreate,
    UserList,
    UserOut,
    UserPatch,
)
from clarion.domain.accounts import Accounts, Concern
from clarion.intake.catalog import MUST_SEND
from clarion.limits import MAX_OFFSET
from clarion.store import Connection
from clarion.store import users as store
from clarion.store.event_types import list_event_types

router = APIRouter(prefix="/api/v1", tags=["users"])


def _may_manage(principal: Principal, user: store.User, concern: Concern) -> None:
    Accounts.check_may_manage(actor_of(principal), user, concern)


async def _target(conn: Connection, ref: str, principal: Principal) -> store.User:
    """The user named by id, email or username ('me' for the caller); 404 if unknown.

    A caller who sees only their own user gets the very same 404 for anyone else's, so no
    answer tells which emails or usernames exist."""
    if ref == "me":
        if principal.user is None:
            raise HTTPException(400, "the admin token has no user of its own")
        return principal.user
    user = await store.find_user(conn, ref)
    if user is None or not (principal.is_admin or _is_caller(principal, user)):
        raise HTTPException(404, f"no user {ref!r} (give an id, email or username)")
    return user


def _is_caller(principal: Principal, user: store.User) -> bool:
    return principal.user is not None and principal.user.id == user.id


@router.post("/users", status_code=201, response_model=UserOut)
async def create_user(body: UserCreate, service: ServiceDep, principal: AdminDep) -> dict[str, Any]:
    async with service.db.begin() as conn:
        user = await service.accounts.create(
            conn,
            actor_of(principal),
            email=body.email,
            username=body.username,
            name=body.name,
            roles=body.roles,
        )
    return user.to_dict()


@router.get("/users", response_model=UserList)
async def list_users(
    service: ServiceDep,
    principal: AdminDep,
    status: str | None = Query(None, pattern="^(active|suspended|deleted)$"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    async with service.db.read() as conn:
        found = await store.list_users(conn, status=status, limit=limit, offset=offset)
    return {"items": [u.to_dict() for u in found]}


@router.get("/users/{ref}", response_model=UserOut)
async def get_user(ref: str, service: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    async with service.db.read() as conn:
        return (await _target(conn, ref, principal)).to_dict()


@router.patch("/users/{ref}", response_model=UserOut)
async def update_user(
    ref: str, body: UserPatch, service: ServiceDep, principal: AdminDep
) -> dict[str, Any]:
    changes = body.model_dump(exclude_none=True)
    if "roles" in changes and "owner" in changes["roles"] and not principal.is_owner:
        raise HTTPException(403, "only an owner can grant the owner role")
    async with service.db.begin() as conn:
        user = await _target(conn, ref, principal)
        if user.status == "deleted":
            raise HTTPException(409, f"user {user.username!r} is deleted")
        actor = actor_of(principal)
        service.accounts.check_may_manage(actor, user)
        status = changes.pop("status", None)
        updated = await store.update_user(conn, user.id, **changes)
        if status is not None:
            updated = await service.accounts.set_status(conn, actor, updated, status)
    return updated.to_dict()


@router.delete("/users/{ref}", status_code=204)
async def delete_user(ref: str, service: ServiceDep, principal: AdminDep) -> Response:
    async with service.db.begin() as conn:
        user = await _target(conn, ref, principal)
        await service.accounts.delete(conn, actor_of(principal), user)
    return Response(status_code=204)


# --- tokens ---------------------------------------------------------------------------------


@router.post("/users/{ref}/tokens", status_code=201, response_model=TokenCreated)
async def create_token(
    ref: str, body: TokenCreate, service: ServiceDep, principal: PrincipalDep
) -> dict[str, Any]:
    async with service.db.begin() as conn:
        user = await _target(conn, ref, principal)
        _may_manage(principal, user, "tokens")
        if user.status != "active":
            raise HTTPException(409, f"user {user.username!r} is {user.status}")
        expires = (
            datetime.now(UTC) + timedelta(days=body.lifetime_days) if body.lifetime_days else None
        )
        row, secret = await store.create_token(conn, user.id, body.name, expires)
    return {
        "id": str(row["id"]),
        "user_id": str(user.id),
        "name": row["name"],
        "token": secret,
        "created_at": row["created_at"].isoformat(),
        "expires_at": expires.isoformat() if expires else None,
    }


@router.get("/users/{ref}/tokens", response_model=TokenList)
async def list_tokens(ref: str, service: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    async with service.db.read() as conn:
        user = await _target(conn, ref, principal)
        _may_manage(principal, user, "tokens")
        rows = await store.list_tokens(conn, user.id)
    return {"items": [json_row(r) for r in rows]}


@router.delete("/users/{ref}/tokens/{token_id}", status_code=204)
async def delete_token(
    ref: str, token_id: uuid.UUID, service: ServiceDep, principal: PrincipalDep
) -> Response:
    async with service.db.begin() as conn:
        user = await _target(conn, ref, principal)
        _may_manage(principal, user, "tokens")
        if not await store.delete_token(conn, token_id, user.id):
            raise HTTPException(404, f"no token {token_id} for user {user.username!r}")
    return Response(status_code=204)


# --- preferences ----------------------------------------------------------------------------


@router.get("/users/{ref}/preferences", response_model=PreferencesOut)
async def get_preferences(ref: str, service: ServiceDep, principal: PrincipalDep) -> dict[str, Any]:
    async with service.db.read() as conn:
        user = await _target(conn, ref, principal)
        off = [t.key for t in await list_event_types(conn) if not t.enabled_by_default]
        return {"disabled": await store.disabled_event_types(conn, user.id, off)}


@router.put("/users/{ref}/preferences", response_model=PreferencesOut)
async def put_preferences(
    ref: str, body: Preferences, service: ServiceDep, principal: PrincipalDep
) -> dict[str, Any]:
    async with service.db.begin() as conn:
        user = await _target(conn, ref, principal)
        _may_manage(principal, user, "preferences")
        types = await list_event_types(conn)
        unknown = sorted(set(body.disabled) - {t.key for t in types})
        if unknown:
            raise HTTPException(422, f"disabled: unknown event type(s) {', '.join(unknown)}")
        must_send = sorted(set(body.disabled) & MUST_SEND)
        if must_send:
            raise HTTPException(
                422, f"disabled: {', '.join(must_send)} cannot be turned off (always sent)"
            )
        off = [t.key for t in types if not t.enabled_by_default]
        disabled = await store.replace_disabled_event_types(conn, user.id, body.disabled, off)
    return {"disabled": disabled}
