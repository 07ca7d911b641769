"""Signing in to the web pages with an API token (a user's, or the admin token).

The cookie holds the token itself, sealed with the secret key (Fernet: encrypted and signed),
so every page checks it exactly as the API checks a bearer token: a revoked token, a
suspended user or a removed role takes effect on the next page, on every replica. The cookie
is ``HttpOnly`` and ``SameSite=Strict`` and lasts :data:`SESSION_SECONDS`; a form post must
also come from our own origin.
"""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote, urlsplit

from cryptography.fernet import InvalidToken
from fastapi import Depends, Request, Response

from clarion.api.deps import Principal, ServiceDep, principal_for
from clarion.service import Service
from clarion.web.pages import PageError

COOKIE = "clarion_session"
SESSION_SECONDS = 12 * 3600
PURPOSE = "session"


def seal(service: Service, token: str) -> str:
    body = json.dumps({"p": PURPOSE, "k": token}).encode()
    return service.secret_box.keys.encrypt(body).decode()


def _api_token(service: Service, cookie: str) -> str | None:
    try:
        body = json.loads(service.secret_box.keys.decrypt(cookie.encode(), ttl=SESSION_SECONDS))
    except (InvalidToken, ValueError, TypeError):
        return None
    if not isinstance(body, dict) or body.get("p") != PURPOSE:
        return None
    token = body.get("k")
    return token if isinstance(token, str) else None


def set_cookie(response: Response, service: Service, token: str) -> None:
    response.set_cookie(
        COOKIE,
        seal(service, token),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=service.settings.resolved_access_url.startswith("https://"),
        path="/",
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


async def signed_in(request: Request, service: Service) -> Principal | None:
    """Who the session cookie stands for, or None (no cookie, too old, token revoked)."""
    cookie = request.cookies.get(COOKIE)
    token = _api_token(service, cookie) if cookie else None
    return await principal_for(service, token) if token else None


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
