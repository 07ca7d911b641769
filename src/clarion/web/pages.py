"""Rendering the pages: Jinja with autoescape, in the email's branding, sent with headers that
keep a link's token out of caches, other sites' referrers and their frames."""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import parse_qs

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from clarion.render.email import Brand

FORM_LIMIT = 64 * 1024
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("clarion.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page(brand: Brand, template: str, status: int, title: str, **values: Any) -> HTMLResponse:
    html = (
        _environment()
        .get_template(template)
        .render(brand=brand.name, color=brand.color, title=title, **values)
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


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


async def read_form(request: Request) -> dict[str, list[str]] | None:
    """A posted form's fields, or None when it is larger than any of our forms."""
    body = await request.body()
    if len(body) > FORM_LIMIT:
        return None
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


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
