"""Event templates: Jinja2 in a sandbox, strict about missing values, values escaped for Markdown.

Templates see ``labels``, ``data``, ``user_id``, ``user_email``, ``user_name``,
``user_username``, ``template_id``, ``template_name`` and the helpers ``base_url``,
``app_name``, ``logo_url`` and ``current_year`` — all plain variables
(``{{ base_url }}``, not ``{{ base_url() }}``).

Every value a ``{{ … }}`` prints is data, never markup: in titles and bodies it is
Markdown-escaped; in action URLs it is percent-encoded as one URL component, except the
helpers ``base_url``/``logo_url`` and values that are themselves absolute http(s) URLs.
The escaping is Jinja's ``finalize`` hook, so a template author cannot forget it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from jinja2 import meta

from clarion.render._jinja import MessageUndefined, render_pieces
from clarion.render.limits import (
    MAX_RENDERED_CHARS,
    BoundedSandbox,
    LimitExceeded,
    bound_tree,
    budget,
    charge,
)
from clarion.render.values import (
    VALUES_KEY,
    Trusted,
    fill,
    hold,
    html_and_text,
    plain_text,
)

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
# A value that is itself an absolute http(s) URL (a label holding a build link) keeps the
# characters that give a URL its structure; spaces, quotes and <> are still encoded.
_URL_STRUCTURE = ":/?#[]@!$&'()*+,;=%~"
_LINE_BREAKS = re.compile(r"[ \t]*[\r\n]+[ \t]*")


class TemplateError(ValueError):
    """A template that cannot be compiled or rendered; the message says which and why."""


class _Labels(dict[str, Any]):
    """The event's labels (a marker type, so a missing one is reported as a label)."""


class _Data(dict[str, Any]):
    """The event's structured data."""


class _Missing(MessageUndefined):
    """Strict, with a message that names the missing label or data key."""

    def message(self, owner: Any, name: str | None, hint: str | None) -> str | None:
        if hint:  # e.g. the sandbox's "access to attribute … is unsafe"
            return hint
        if isinstance(owner, _Labels):
            return f"label {name!r} is missing (labels.{name})"
        if isinstance(owner, _Data):
            return f"data key {name!r} is missing (data.{name})"
        return None


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


def _url_value(value: Any) -> str:
    if isinstance(value, Trusted):
        return str(value)
    text = _as_text(value)
    if _is_absolute_http(text):
        return quote(text, safe=_URL_STRUCTURE)
    # Any other value is one URL component: "/", "?", "#", "&" and "%" in it are data.
    return quote(text, safe="")


def _printed(finalize: Any) -> Any:
    """``finalize`` charging what it prints to the render's budget."""

    def printed(value: Any) -> str:
        text: str = finalize(value)
        charge(0, len(text))
        return text

    return printed


def _is_absolute_http(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced "[" in the host part
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def code_block(value: Any) -> Trusted:
    """``{{ labels.log | code_block }}``: the value verbatim in a fenced block it cannot close."""
    text = _as_text(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return Trusted(f"{fence}\n{text}\n{fence}")


def _environment(finalize: Any) -> BoundedSandbox:
    env = BoundedSandbox(undefined=_Missing, autoescape=False, finalize=finalize, auto_reload=False)
    env.filters["code_block"] = code_block
    return env


_MARKDOWN_ENV = _environment(hold)
_URL_ENV = _environment(_printed(_url_value))
_PLAIN_ENV = _environment(_printed(_as_text))


@functools.lru_cache(maxsize=2048)
def _compile(kind: str, source: str) -> jinja2.Template:
    env = {"markdown": _MARKDOWN_ENV, "url": _URL_ENV, "plain": _PLAIN_ENV}[kind]
    return env.from_string(bound_tree(env.parse(source)))


# The environments' globals (range, dict, namespace, …), merged into each render's variables
# once here rather than through the ChainMap Template.render builds on every call.
_GLOBALS = dict(_MARKDOWN_ENV.globals)


def _run(template: jinja2.Template, variables: Mapping[str, Any]) -> str:
    """``template.render(variables)``, building the context from one plain dict."""
    with budget():
        out: list[str] = []
        size = 0
        for piece in render_pieces(template, {**_GLOBALS, **variables}):
            size += len(piece)
            charge(0, len(piece))
            if size > MAX_RENDERED_CHARS:
                raise LimitExceeded(_too_long(size))
            out.append(piece)
        return "".join(out)


def _too_long(size: int) -> str:
    return f"renders to more than {MAX_RENDERED_CHARS} characters (the limit of a part)"


def _bounded(where: str, text: str) -> str:
    if len(text) > MAX_RENDERED_CHARS:
        raise TemplateError(f"{where}: {_too_long(len(text))}")
    return text


def _render(kind: str, where: str, source: str, variables: Mapping[str, Any]) -> str:
    if "{" not in source and "\n" not in source:
        return source  # constant text (most action labels): Jinja would print it as is
    try:
        return _run(_compile(kind, source), variables)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{where}: syntax error on line {exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{where}: {exc.message}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateError(f"{where}: not allowed in a template: {exc}") from None
    except LimitExceeded as exc:
        raise TemplateError(f"{where}: too large: {exc}") from None
    except RecursionError:
        raise TemplateError(f"{where}: too large: it nests too deeply") from None
    except Exception as exc:  # a template's own runtime error, e.g. a bad filter argument
        raise TemplateError(f"{where}: {type(exc).__name__}: {exc}") from None


def _render_skeleton(
    where: str, source: str, variables: Mapping[str, Any]
) -> tuple[str, list[str]]:
    """The template's Markdown with a placeholder for each printed value, and the values."""
    values: list[str] = []
    return _render("markdown", where, source, {**variables, VALUES_KEY: values}), values


def _one_line(text: str) -> str:
    # Only line breaks fold: other whitespace (a no-break space in a value) is the value's own.
    if "\n" not in text and "\r" not in text:
        return text.strip()
    return _LINE_BREAKS.sub(" ", text).strip()


def _check_url(where: str, url: str) -> str:
    url = url.strip()
    if not _is_absolute_http(url):
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
    title_skeleton, title_values = _render_skeleton("title", title_template, variables)
    title_markdown = _bounded("title", _one_line(fill(title_skeleton, title_values)))
    body_skeleton, body_values = _render_skeleton("body", body_template, variables)
    body_markdown = _bounded("body", fill(body_skeleton, body_values).strip())
    rendered_actions = []
    for number, action in enumerate(actions, 1):
        where = f"action {number}"
        label = " ".join(_render("plain", f"{where} label", action["label"], variables).split())
        url = _bounded(f"{where} url", _render("url", f"{where} url", action["url"], variables))
        _bounded(f"{where} label", label)
        rendered_actions.append(RenderedAction(label, _check_url(f"{where} url", url)))
    body_html, body_text = html_and_text(body_skeleton.strip(), body_values, body_markdown)
    return Rendered(
        title=_one_line(plain_text(_one_line(title_skeleton), title_values, title_markdown)),
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
