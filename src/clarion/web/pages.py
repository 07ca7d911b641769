"""Rendering the pages: Jinja with autoescape, in the email's branding, sent with headers that
keep a link's token out of caches, referrers and other sites' frames."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2
from fastapi.responses import HTMLResponse

from clarion.render.email import Brand

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
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
