"""``/admin/users``: add users, suspend and activate them, give them an API token (shown
once), delete them. The same account changes as the API's, with Coder's user events."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from clarion.access import Principal, ServiceDep, actor_of
from clarion.access.accounts import UserCreate
from clarion.access.validation import describe_validation_errors
from clarion.domain.accounts import Accounts, Actor, Concern
from clarion.errors import ClarionError, Forbidden
from clarion.roles import ROLES
from clarion.service import Service
from clarion.store import Connection
from clarion.store import users as store
from clarion.web.frame import app_page, confirm_page
from clarion.web.pages import PageError, first, page_status, parse_id, read_form, see_other
from clarion.web.session import AdminSignedIn

router = APIRouter(prefix="/admin/users", tags=["web"], include_in_schema=False)


def _allowed(actor: Actor, user: store.User, concern: Concern) -> bool:
    """Whether to offer the button at all (the post asks again)."""
    try:
        Accounts.check_may_manage(actor, user, concern)
    except Forbidden:
        return False
    return True


async def _page(
    request: Request,
    service: Service,
    principal: Principal,
    *,
    status: int = 200,
    notice: str = "",
    error: str = "",
    form: dict[str, Any] | None = None,
) -> Response:
    async with service.db.read() as conn:
        found = await store.list_users(conn)
    actor = actor_of(principal)
    users = [
        {
            **u.to_dict(),
            "created_at": f"{u.created_at:%Y-%m-%d}",
            "may_token": _allowed(actor, u, "tokens"),
        }
        for u in sorted(found, key=lambda u: (u.status == "deleted", u.email))
    ]
    return await app_page(
        request,
        service,
        principal,
        "users.html",
        "Users",
        "users",
        status=status,
        users=users,
        roles=ROLES,
        notice=notice,
        error=error,
        form=form or {"email": "", "name": "", "username": "", "roles": ["member"]},
    )


@router.get("")
async def users_page(
    request: Request, service: ServiceDep, principal: AdminSignedIn, notice: str = ""
) -> Response:
    return await _page(request, service, principal, notice=notice)


@router.post("")
async def add_user(request: Request, service: ServiceDep, principal: AdminSignedIn) -> Response:
    form = await read_form(request)
    typed = {
        "email": first(form, "email").strip(),
        "name": first(form, "name").strip(),
        "username": first(form, "username").strip(),
        "roles": form.get("roles", []) or ["member"],
    }
    try:
        body = UserCreate.model_validate({**typed, "username": typed["username"] or None})
    except ValidationError as exc:
        error = describe_validation_errors([dict(e) for e in exc.errors()])
        return await _page(request, service, principal, status=422, error=error, form=typed)
    try:
        async with service.db.begin() as conn:
            await service.accounts.create(
                conn,
                actor_of(principal),
                email=body.email,
                username=body.username,
                name=body.name,
                roles=body.roles,
            )
    except ClarionError as exc:
        # Shown on the form, kept as typed, so it can be corrected and sent again.
        status, _ = page_status(exc)
        return await _page(request, service, principal, status=status, error=str(exc), form=typed)
    return see_other("/admin/users?" + urlencode({"notice": f"Added {body.email}."}))


async def _user(
    conn: Connection, ref: str, principal: Principal, concern: Concern = "account"
) -> store.User:
    """The user to change, read in the transaction that changes them (a double click must
    not emit the events twice), if the caller may (the API's rule: only an owner changes an
    owner, only the user or an owner handles their tokens)."""
    user_id = parse_id(ref, "user")
    user = await store.find_user(conn, str(user_id))
    if user is None or user.status == "deleted":
        raise PageError(404, "Not found", f"There is no user {user_id}.")
    try:
        Accounts.check_may_manage(actor_of(principal), user, concern)
    except ClarionError as exc:
        raise PageError.of(exc) from None
    return user


@router.post("/{ref}/status")
async def set_status(
    ref: str, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    status = first(await read_form(request), "status")
    if status not in ("active", "suspended"):
        raise PageError(422, "Not understood", "status: send active or suspended.")
    async with service.db.begin() as conn:
        user = await _user(conn, ref, principal)
        await service.accounts.set_status(conn, actor_of(principal), user, status)
    verb = "Suspended" if status == "suspended" else "Activated"
    return see_other("/admin/users?" + urlencode({"notice": f"{verb} {user.email}."}))


@router.post("/{ref}/tokens")
async def new_token(
    ref: str, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    async with service.db.begin() as conn:
        user = await _user(conn, ref, principal, "tokens")
        if user.status != "active":
            message = f"{user.email} is {user.status}: activate them first."
            raise PageError(409, "Not active", message)
        _, secret = await store.create_token(conn, user.id, "web", None)
    holder = user.name or user.username
    return await app_page(
        request,
        service,
        principal,
        "token.html",
        "New API token",
        "users",
        holder=holder,
        token=secret,
    )


@router.get("/{ref}/delete")
async def confirm_delete(
    ref: str, request: Request, service: ServiceDep, principal: AdminSignedIn
) -> Response:
    async with service.db.read() as conn:
        user = await _user(conn, ref, principal)
    return await confirm_page(
        request,
        service,
        principal,
        "users",
        title=f"Delete {user.email}?",
        message="They stop receiving notifications and their tokens stop working. Their "
        "messages stay in the log.",
        action=f"/admin/users/{user.id}/delete",
        button="Delete user",
        cancel="/admin/users",
    )


@router.post("/{ref}/delete")
async def delete(ref: str, service: ServiceDep, principal: AdminSignedIn) -> Response:
    async with service.db.begin() as conn:
        user = await _user(conn, ref, principal)
        await service.accounts.delete(conn, actor_of(principal), user)
    return see_other("/admin/users?" + urlencode({"notice": f"Deleted {user.email}."}))
