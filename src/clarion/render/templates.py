"""Event templates: Jinja2 in a sandbox, strict about missing values, values escaped for Markdown.

Templates see ``labels``, ``data``, ``user_id``, ``user_email``, ``user_name``,
``user_username``, ``template_id``, ``template_name`` and the helpers ``base_url``,
``app_name``, ``logo_url`` and ``current_year`` — all plain variables
(``{{ base_url }}``, not ``{{ base_url() }}``).

Every value a ``{{ … }}`` prints is data, never markup: in titles and bodies it is
Markdown-escaped, in action URLs it is URL-quoted (helpers such as ``base_url`` excepted).
The escaping is Jinja's ``finalize`` hook, so a template author cannot forget it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from jinja2 import StrictUndefined, meta
from jinja2.sandbox import SandboxedEnvironment

from clarion.render.markdown import escape_markdown, markdown_to_html_and_text, markdown_to_text

VARIABLES = frozenset(
    {
        "labels",
        "data",
        "user_id",
        "user_email",
        "user_name",
        "user_username",
        "template_id",
        "template_name",
        "base_url",
        "app_name",
        "logo_url",
        "current_year",
    }
)
# Characters left alone when a value goes into a URL: whatever may legitimately appear in one,
# so a label holding a whole link (a build URL) still works; spaces, quotes, <> are encoded.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


class TemplateError(ValueError):
    """A template that cannot be compiled or rendered; the message says which and why."""


class _Labels(dict[str, Any]):
    """The event's labels (a marker type, so a missing one is reported as a label)."""


class _Data(dict[str, Any]):
    """The event's structured data."""


class _Missing(StrictUndefined):
    """Strict, with a message that names the missing label or data key."""

    @property
    def _undefined_message(self) -> str:
        owner = self._undefined_obj
        if isinstance(owner, _Labels):
            return f"label {self._undefined_name!r} is missing (labels.{self._undefined_name})"
        if isinstance(owner, _Data):
            return f"data key {self._undefined_name!r} is missing (data.{self._undefined_name})"
        return str(super()._undefined_message)


class Trusted(str):
    """A helper value (``base_url``, ``logo_url``) printed as is."""

    __slots__ = ()


@dataclass(frozen=True)
class RenderContext:
    template_id: str
    template_name: str
    user_id: str
    user_email: str
    user_name: str
    user_username: str
    labels: Mapping[str, str]
    data: Mapping[str, Any]
    base_url: str
    app_name: str = "Clarion"
    logo_url: str = ""

    def variables(self) -> dict[str, Any]:
        base = self.base_url.rstrip("/")
        return {
            "labels": _Labels(self.labels),
            "data": _Data(self.data),
            "user_id": self.user_id,
            "user_email": self.user_email,
            "user_name": self.user_name,
            "user_username": self.user_username,
            "template_id": self.template_id,
            "template_name": self.template_name,
            "base_url": Trusted(base),
            "app_name": self.app_name,
            "logo_url": Trusted(self.logo_url or f"{base}/static/logo.png"),
            "current_year": datetime.now(UTC).year,
        }


@dataclass(frozen=True)
class RenderedAction:
    label: str
    url: str


@dataclass(frozen=True)
class Rendered:
    title: str
    title_markdown: str
    body_markdown: str
    body_text: str
    body_html: str
    actions: tuple[RenderedAction, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "title_markdown": self.title_markdown,
            "body_markdown": self.body_markdown,
            "body_text": self.body_text,
            "body_html": self.body_html,
            "actions": [{"label": a.label, "url": a.url} for a in self.actions],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rendered:
        return cls(
            title=data["title"],
            title_markdown=data["title_markdown"],
            body_markdown=data["body_markdown"],
            body_text=data["body_text"],
            body_html=data["body_html"],
            actions=tuple(RenderedAction(a["label"], a["url"]) for a in data.get("actions", [])),
        )


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


def _markdown_value(value: Any) -> str:
    if isinstance(value, Trusted):
        return str(value)
    return escape_markdown(_as_text(value))


def _url_value(value: Any) -> str:
    if isinstance(value, Trusted):
        return str(value)
    return quote(_as_text(value), safe=_URL_SAFE)


def _environment(finalize: Any) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=_Missing, autoescape=False, finalize=finalize, auto_reload=False
    )


_MARKDOWN_ENV = _environment(_markdown_value)
_URL_ENV = _environment(_url_value)
_PLAIN_ENV = _environment(_as_text)


@functools.lru_cache(maxsize=2048)
def _compile(kind: str, source: str) -> jinja2.Template:
    env = {"markdown": _MARKDOWN_ENV, "url": _URL_ENV, "plain": _PLAIN_ENV}[kind]
    return env.from_string(source)


def _render(kind: str, where: str, source: str, variables: Mapping[str, Any]) -> str:
    try:
        return _compile(kind, source).render(variables)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{where}: syntax error on line {exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{where}: {exc.message}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateError(f"{where}: not allowed in a template: {exc}") from None
    except Exception as exc:  # a template's own runtime error, e.g. a bad filter argument
        raise TemplateError(f"{where}: {type(exc).__name__}: {exc}") from None


def _check_url(where: str, url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TemplateError(f"{where}: rendered to {url!r}, which is not an absolute http(s) URL")
    return url


def render_event(
    title_template: str,
    body_template: str,
    actions: Sequence[Mapping[str, str]],
    ctx: RenderContext,
) -> Rendered:
    """Render an event type for one recipient; raises TemplateError naming the failing part."""
    variables = ctx.variables()
    title_markdown = " ".join(_render("markdown", "title", title_template, variables).split())
    body_markdown = _render("markdown", "body", body_template, variables).strip()
    rendered_actions = []
    for number, action in enumerate(actions, 1):
        where = f"action {number}"
        label = " ".join(_render("plain", f"{where} label", action["label"], variables).split())
        url = _render("url", f"{where} url", action["url"], variables)
        rendered_actions.append(RenderedAction(label, _check_url(f"{where} url", url)))
    body_html, body_text = markdown_to_html_and_text(body_markdown)
    return Rendered(
        title=" ".join(markdown_to_text(title_markdown).split()),
        title_markdown=title_markdown,
        body_markdown=body_markdown,
        body_text=body_text,
        body_html=body_html,
        actions=tuple(rendered_actions),
    )


def validate_templates(
    title_template: str,
    body_template: str,
    actions: Sequence[Mapping[str, str]],
    required_labels: Sequence[str] = (),
) -> None:
    """Compile every part and try it with sample values: template errors surface at creation."""
    parts = [("title", title_template), ("body", body_template)]
    for number, action in enumerate(actions, 1):
        parts += [
            (f"action {number} label", action["label"]),
            (f"action {number} url", action["url"]),
        ]
    for where, source in parts:
        try:
            tree = _MARKDOWN_ENV.parse(source)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"{where}: syntax error on line {exc.lineno}: {exc.message}"
            ) from None
        unknown = sorted(meta.find_undeclared_variables(tree) - VARIABLES)
        if unknown:
            raise TemplateError(
                f"{where}: unknown variable(s) {', '.join(unknown)}; "
                f"available: {', '.join(sorted(VARIABLES))}"
            )
    sample = RenderContext(
        template_id="00000000-0000-0000-0000-000000000000",
        template_name="sample",
        user_id="00000000-0000-0000-0000-000000000000",
        user_email="someone@example.com",
        user_name="Sam Sample",
        user_username="sam",
        # URL-shaped samples: a label may be a whole link (a build URL) used as an action.
        labels={label: f"https://sample.example/{label}" for label in required_labels},
        data={},
        base_url="https://clarion.example.com",
    )
    render_event(title_template, body_template, actions, sample)
