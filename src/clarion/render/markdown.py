"""Markdown to sanitized HTML and to readable plain text (markdown-it-py + nh3)."""

from __future__ import annotations

import re
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

# Raw HTML off: a "<script>" in Markdown is shown as text, never passed through.
_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

_ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
    "s",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}
_URL_SCHEMES = {"http", "https", "mailto"}

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones with meaning.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&])")


def escape_markdown(value: str) -> str:
    """Backslash-escape ``value`` so Markdown renders it literally (no links, emphasis, HTML)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", value)


def markdown_to_html(markdown: str) -> str:
    """Render Markdown and keep only safe tags, attributes and URL schemes."""
    return _html_from_tokens(_MD.parse(markdown))


def markdown_to_html_and_text(markdown: str) -> tuple[str, str]:
    """Both renderings from one parse (parsing is most of the cost)."""
    tokens = _MD.parse(markdown)
    return _html_from_tokens(tokens), _text_from_tokens(tokens)


def _html_from_tokens(tokens: list[Token]) -> str:
    html = _MD.renderer.render(tokens, _MD.options, {})
    return str(
        nh3.clean(
            html,
            tags=_ALLOWED_TAGS,
            attributes=_ALLOWED_ATTRIBUTES,
            url_schemes=_URL_SCHEMES,
            link_rel="noopener noreferrer",
        )
    ).strip()


def _inline_text(children: list[Token] | None) -> str:
    out: list[str] = []
    links: list[tuple[str, int]] = []  # (href, where the link text starts)
    for token in children or []:
        kind = token.type
        if kind in ("text", "code_inline", "html_inline"):
            out.append(token.content)
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "image":
            out.append(token.content or str(token.attrGet("alt") or ""))
        elif kind == "link_open":
            links.append((str(token.attrGet("href") or ""), len(out)))
        elif kind == "link_close" and links:
            href, start = links.pop()
            text = "".join(out[start:])
            if href and href != text and f"mailto:{text}" != href:
                out.append(f" ({href})")
    return "".join(out)


def markdown_to_text(markdown: str) -> str:
    """Plain text for email and chat fallbacks: structure kept, markup dropped.

    Lists become ``- item`` / ``1. item``, links ``text (url)``, code stays verbatim, and
    blocks are separated by a blank line (list items and table rows by a newline).
    """
    return _text_from_tokens(_MD.parse(markdown))


def _text_from_tokens(tokens: list[Token]) -> str:
    # (text, run): consecutive lines of the same list or table (same run) join with a newline.
    blocks: list[tuple[str, int | None]] = []
    run = 0
    lists: list[list[Any]] = []  # [ordered, counter]
    quote_depth = 0
    item_marker: str | None = None
    cells: list[str] = []
    in_cell = False

    def add(text: str, in_run: bool = False) -> None:
        if quote_depth:
            text = "\n".join(("> " * quote_depth + line).rstrip() for line in text.split("\n"))
        blocks.append((text, run if in_run else None))

    for token in tokens:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open", "table_open") and not lists:
            run += 1
        if kind == "bullet_list_open":
            lists.append([False, 0])
        elif kind == "ordered_list_open":
            lists.append([True, int(token.attrGet("start") or 1) - 1])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            current = lists[-1]
            current[1] += 1
            marker = f"{current[1]}. " if current[0] else "- "
            item_marker = "  " * (len(lists) - 1) + marker
        elif kind == "blockquote_open":
            quote_depth += 1
        elif kind == "blockquote_close":
            quote_depth -= 1
        elif kind in ("fence", "code_block"):
            add(token.content.rstrip("\n"), bool(lists))
        elif kind == "hr":
            add("---")
        elif kind == "tr_open":
            cells = []
        elif kind in ("th_open", "td_open"):
            in_cell = True
        elif kind in ("th_close", "td_close"):
            in_cell = False
        elif kind == "tr_close":
            add(" | ".join(cells), True)
        elif kind == "inline":
            text = _inline_text(token.children)
            if in_cell:
                cells.append(text)
                continue
            if item_marker is not None:
                indent = " " * len(item_marker)
                text = item_marker + text.replace("\n", "\n" + indent)
                item_marker = None
                add(text, True)
            elif lists:
                add("  " * len(lists) + text, True)
            else:
                add(text)
    return _join(blocks)


def _join(blocks: list[tuple[str, int | None]]) -> str:
    out = ""
    previous: int | None = None
    for index, (text, run) in enumerate(blocks):
        if index:
            out += "\n" if (run is not None and run == previous) else "\n\n"
        out += text
        previous = run
    return "\n".join(line.rstrip() for line in out.strip("\n").split("\n"))
