"""Signing in and out of the web pages (see :mod:`clarion.web.session`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from clarion.access import ServiceDep, principal_for
from clarion.web.pages import first, local_path, page, read_form, see_other
from clarion.web.session import from_our_origin, sign_out, signed_in, start_signed_in

router = APIRouter(tags=["web"], include_in_schema=False)

REFUSED = "That token is unknown, expired, or its user is not active."


def _form(service: ServiceDep, status: int, next_path: str, error: str = "") -> Response:
    return page(service.brand, "signin.html", status, "Sign in", next=next_path, error=error)


@router.get("/signin")
async def signin_form(request: Request, service: ServiceDep, next: str = "/") -> Response:
    if await signed_in(request, service) is not None:
        return see_other(local_path(next))
    return _form(service, 200, local_path(next))


@router.post("/signin")
async def signin(request: Request, service: ServiceDep) -> Response:
    form = await read_form(request)
    if not from_our_origin(request, service):
        return _form(service, 403, "/", "This form was sent from another site; sign in here.")
    target = local_path(first(form, "next"))
    # The client's address; behind a trusted proxy, the one it forwarded for.
    client = request.client.host if request.client else "unknown"
    wait = service.limits.failed_sign_ins.retry_after(client)
    if wait is not None:
        answer = _form(service, 429, target, f"Too many failed sign-ins: try again in {wait} s.")
        answer.headers["Retry-After"] = str(wait)
        return answer
    token = first(form, "token").strip()
    if not token or await principal_for(service, token) is None:
        service.limits.failed_sign_ins.hit(client)
        return _form(service, 401, target, REFUSED)
    response = see_other(target)
    await start_signed_in(request, response, service, token)
    return response


@router.post("/signout")
async def signout(request: Request, service: ServiceDep) -> Response:
    if not from_our_origin(request, service):  # another site may not sign you out
        return see_other("/")
    response = see_other("/signin")
    await sign_out(request, response, service)
    return response
