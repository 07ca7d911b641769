"""Signing in to the web pages with an API token (a user's, or the admin token).

The cookie holds the token itself and the id of a session row, sealed with the secret key
(Fernet: encrypted and signed), so every page checks it exactly as the API checks a bearer
token: a revoked token, a suspended user or a removed role takes effect on the next page, on
every replica. Signing out deletes the session row, so a copy of the cookie is refused too.
The cookie is ``HttpOnly``, ``SameSite=Strict``, ``Secure`` when the page came over https,
and lasts :data:`SESSION_SECONDS`; a form post must also come from our own origin.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response

from clarion.access import Principal, ServiceDep, principal_for
from clarion.service import Service
from clarion.store.sessions import end_session, session_is_open, start_session
from clarion.web.pages import PageError

COOKIE = "clarion_session"
SESSION_SECONDS = 12 * 3600
PURPOSE = "session"


def _seal(service: Service, token: str, session_id: str) -> str:
    return service.secret_box.seal_for(PURPOSE, {"k": token, "s": session_id})


def _unseal(service: Service, cookie: str) -> tuple[str, str] | None:
    """The API token and session id a cookie holds, or None (forged, too old, malformed)."""
    body = service.secret_box.open_for(PURPOSE, cookie, max_age=SESSION_SECONDS)
    if body is None:
        return None
    token, session_id = body.get("k"), body.get("s")
    if not isinstance(token, str) or not isinstance(session_id, str):
        return None
    return token, session_id


def is_https(request: Request, service: Service) -> bool:
    """Whether the browser reached us over https: directly, through a trusted proxy that
    said so (``X-Forwarded-Proto``, believed only from ``CLARION_TRUSTED_PROXIES``), or as
    ``CLARION_ACCESS_URL`` promises."""
    return request.url.scheme == "https" or service.settings.resolved_access_url.startswith(
        "https://"
    )


async def start_signed_in(
    request: Request, response: Response, service: Service, token: str
) -> None:
    """Open a session for ``token`` and give the browser its cookie."""
    session_id = await start_session(service.db, timedelta(seconds=SESSION_SECONDS))
    response.set_cookie(
        COOKIE,
        _seal(service, token, session_id),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=is_https(request, service),
        path="/",
    )


async def sign_out(request: Request, response: Response, service: Service) -> None:
    """End the cookie's session on the server (every copy of it) and delete the cookie."""
    cookie = request.cookies.get(COOKIE)
    sealed = _unseal(service, cookie) if cookie else None
    if sealed is not None:
        await end_session(service.db, sealed[1])
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=is_https(request, service)
    )


async def signed_in(request: Request, service: Service) -> Principal | None:
    """Who the session cookie stands for, or None (no cookie, too old, signed out, token
    revoked, user not active)."""
    cookie = request.cookies.get(COOKIE)
    sealed = _unseal(service, cookie) if cookie else None
    if sealed is None:
        return None
    token, session_id = sealed
    if not await session_is_open(service.db, session_id):
        return None
    return await principal_for(service, token)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def from_our_origin(request: Request, service: Service) -> bool:
    """A form post's ``Origin`` (or, without one, ``Referer``) is this site: the address it
    was asked at, or ``CLARION_ACCESS_URL`` (behind a proxy that rewrites the host)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    ours = {_origin(str(request.url)), _origin(service.settings.resolved_access_url)}
    return _origin(source) in ours


def next_path(request: Request) -> str:
    """This page's path and query, as sent (the query stays percent-encoded)."""
    path = quote(request.url.path, safe="/")
    return path + (f"?{request.url.query}" if request.url.query else "")


def sign_in_first(path: str) -> PageError:
    return PageError(303, "Sign in", location=f"/signin?next={quote(path, safe='')}")


async def require_signed_in(request: Request, service: ServiceDep) -> Principal:
    """The signed-in caller; otherwise a redirect to the sign-in page, which comes back."""
    principal = await signed_in(request, service)
    if principal is None:
        raise sign_in_first(next_path(request) if request.method == "GET" else "/")
    if request.method == "POST" and not from_our_origin(request, service):
        raise PageError(403, "Not allowed", "This form was sent from another site.")
    return principal


SignedIn = Annotated[Principal, Depends(require_signed_in)]


async def require_admin_signed_in(principal: SignedIn) -> Principal:
    if not principal.is_admin:
        raise PageError(403, "Not allowed", "This page needs the owner or user-admin role.")
    return principal


AdminSignedIn = Annotated[Principal, Depends(require_admin_signed_in)]
