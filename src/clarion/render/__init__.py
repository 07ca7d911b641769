"""Rendering: event templates to title, Markdown, sanitized HTML, plain text and actions.

Pure functions: no database, no network, no settings.
"""

from clarion.render.markdown import (
    escape_markdown,
    markdown_to_discord,
    markdown_to_html,
    markdown_to_slack,
    markdown_to_telegram,
    markdown_to_text,
)
from clarion.render.templates import (
    RenderContext,
    Rendered,
    RenderedAction,
    TemplateError,
    render_event,
    validate_templates,
)

__all__ = [
    "RenderContext",
    "Rendered",
    "RenderedAction",
    "TemplateError",
    "escape_markdown",
    "markdown_to_discord",
    "markdown_to_html",
    "markdown_to_slack",
    "markdown_to_telegram",
    "markdown_to_text",
    "render_event",
    "validate_templates",
]
