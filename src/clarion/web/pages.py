"""Rendering the pages: Jinja with autoescape, in the email's branding, sent with headers that
keep a link's token out of caches, other sites' referrers and their frames."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jinja2
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from clarion.errors import ClarionError, Conflict, Forbidden, Invalid, NotFound
from clarion.limits import MAX_FORM_BYTES
from clarion.render.email import Brand, html_environment

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


# The inbox page also runs its one script, which listens to the page's own event stream.
SCRIPT_HEADERS = {
    **HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
}


def http_url(url: str) -> str:
    """Only http(s) links are followed from a page; anything else links nowhere."""
    return url if urlsplit(str(url)).scheme in ("http", "https") else "#"


@cache
def _environment() -> jinja2.Environment:
    env = html_environment("clarion.web", "templates")
    env.filters["http_url"] = http_url
    return env


def page(
    brand: Brand,
    template: str,
    status: int,
    title: str,
    headers: dict[str, str] = HEADERS,
    **values: Any,
) -> HTMLResponse:
    html = (
        _environment()
        .get_template(template)
        .render(brand=brand.name, color=brand.color, title=title, **values)
    )
    return HTMLResponse(html, status_code=status, headers=headers)


def message_page(
    brand: Brand,
    status: int,
    title: str,
    message: str,
    *,
    form_action: str = "",
    button: str = "",
    settings_url: str = "",
) -> HTMLResponse:
    """A short page: a sentence, perhaps one button (the unsubscribe confirmation)."""
    return page(
        brand,
        "message.html",
        status,
        title,
        message=message,
        form_action=form_action,
        button=button,
        settings_url=settings_url,
    )


# The domain's errors as pages, in this one place: status and title.
_PAGE_OF: tuple[tuple[type[ClarionError], int, str], ...] = (
    (NotFound, 404, "Not found"),
    (Conflict, 409, "Not done"),
    (Forbidden, 403, "Not allowed"),
    (Invalid, 422, "Not saved"),
)


def page_status(exc: ClarionError) -> tuple[int, str]:
    """The status and title a domain error is shown with."""
    return next(((s, t) for kind, s, t in _PAGE_OF if isinstance(exc, kind)), (400, "Not done"))


def error_page(brand: Brand, exc: ClarionError) -> HTMLResponse:
    """A domain error as a short page saying what was wrong."""
    status, title = page_status(exc)
    return message_page(brand, status, title, str(exc))


class PageError(Exception):
    """Ends a page request with a short page, or a redirect to ``location``, not JSON."""

    def __init__(self, status: int, title: str, message: str = "", location: str = ""):
        super().__init__(message or title)
        self.status, self.title, self.message, self.location = status, title, message, location

    @classmethod
    def of(cls, exc: ClarionError) -> PageError:
        """A domain error as the page :func:`error_page` shows."""
        status, title = page_status(exc)
        return cls(status, title, str(exc))


async def _page_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, PageError):
        raise exc
    if exc.location:
        return see_other(exc.location)
    brand: Brand = request.app.state.service.brand
    return message_page(brand, exc.status, exc.title, exc.message)


def install_page_errors(app: FastAPI) -> None:
    app.add_exception_handler(PageError, _page_error)


async def read_form(request: Request) -> dict[str, list[str]]:
    """A posted form's fields; a page error if it is larger than any of our forms, or holds
    a NUL character (which PostgreSQL cannot store)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise PageError(413, "Too much", "The form sent was too large.")
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    for name, values in form.items():
        if "\x00" in name or any("\x00" in v for v in values):
            raise PageError(422, "Not saved", f"{name}: contains a NUL character.")
    return form


def optional_id(value: str) -> uuid.UUID | None:
    """An id from a page's query; None when empty or not an id (a filter left out)."""
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def parse_id(value: str, what: str) -> uuid.UUID:
    """An id from a page's path; a 404 page for anything else."""
    found = optional_id(value)
    if found is None:
        raise PageError(404, "Not found", f"There is no {what} {value!r}.")
    return found


def first(form: dict[str, list[str]], name: str, default: str = "") -> str:
    values = form.get(name)
    return values[0] if values else default


def local_path(value: str, default: str = "/") -> str:
    """A redirect target from a form or query: only a path on this site."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def see_other(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers=HEADERS)
