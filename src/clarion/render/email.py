"""The email layout: a branded, responsive HTML page and its plain-text twin.

The body is the event's sanitized HTML (:mod:`clarion.render.markdown`); everything else
placed in the layout (title, labels of buttons, URLs) is escaped by Jinja's autoescape.
Tables and inline styles, because that is what mail clients render.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import jinja2
from markupsafe import Markup

from clarion.render.templates import Rendered


@dataclass(frozen=True)
class Brand:
    name: str = "clarion"
    logo_url: str = ""
    color: str = "#2563eb"


@dataclass(frozen=True)
class EmailLinks:
    settings_url: str
    unsubscribe_url: str | None = None
    reason: str = "You are receiving this because of your notification settings."


def html_environment(package: str, folder: str) -> jinja2.Environment:
    """Our own HTML (the email layout, the web pages): autoescaped, strict, tidy blocks.
    Users' templates never go through this; they are sandboxed (:mod:`.templates`)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _layouts() -> jinja2.Environment:
    return html_environment("clarion.render", "layouts")


def _layout(name: str) -> jinja2.Template:
    return _layouts().get_template(name)


def email_html(content: Rendered, brand: Brand, links: EmailLinks) -> str:
    preheader = content.body_text.strip().split("\n", 1)[0][:140]
    return _layout("email.html").render(
        title=content.title,
        preheader=preheader,
        body_html=Markup(content.body_html),  # already sanitized by nh3
        actions=content.actions,
        brand=brand.name,
        logo_url=brand.logo_url,
        color=brand.color,
        settings_url=links.settings_url,
        unsubscribe_url=links.unsubscribe_url,
        reason=links.reason,
    )


def email_text(content: Rendered, links: EmailLinks) -> str:
    parts = [content.title, "", content.body_text.strip()]
    if content.actions:
        parts += ["", *(f"{a.label}: {a.url}" for a in content.actions)]
    parts += ["", "--", links.reason, f"Notification settings: {links.settings_url}"]
    if links.unsubscribe_url:
        parts.append(f"Unsubscribe: {links.unsubscribe_url}")
    return "\n".join(parts) + "\n"
