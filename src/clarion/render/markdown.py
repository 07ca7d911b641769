"""Markdown to sanitized HTML and to readable plain text (markdown-it-py + nh3)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones with meaning
# ("=" underlines a setext heading).
_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()#+-.!|<>~&="})
# Indentation at the start of a line would make an indented code block, and backslash cannot
# escape a space: a character reference keeps the space but ends the indentation.
_LINE_INDENT = re.compile(r"(^|[\r\n])([ \t])")


def escape_markdown(value: str) -> str:
    """Backslash-escape ``value`` so Markdown renders it literally (no links, emphasis, HTML)."""
    escaped = value.translate(_MARKDOWN_SPECIAL)
    if escaped[:1] not in (" ", "\t") and "\n" not in escaped and "\r" not in escaped:
        return escaped  # no line can start with indentation
    return _LINE_INDENT.sub(lambda m: f"{m[1]}&#{ord(m[2])};", escaped)


def parse_markdown(markdown: str) -> list[Token]:
    """The token stream every rendering here walks."""
    return _MD.parse(markdown)


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
            # Tables align columns with style="text-align:…"; nothing else in a style survives.
            filter_style_properties={"text-align"},
        )
    ).strip()


@dataclass(frozen=True)
class Flavor:
    """How one destination writes text: its escaping, emphasis markers, links and code."""

    escape: Callable[[str], str]
    strong: str
    em: str
    strike: str
    link: Callable[[str, str], str]  # (rendered label, url) -> text
    code: Callable[[str], str]
    code_block: Callable[[str], str]
    heading: Callable[[str], str]
    # Closing markers where they differ from the opening ones (HTML-like flavors).
    closers: Mapping[str, str] = field(default_factory=dict)


def _plain_link(label: str, url: str) -> str:
    if not url or url in (label, f"mailto:{label}"):
        return label
    return f"{label} ({url})"


def escape_slack(text: str) -> str:
    """Text for Slack, which reads ``<…>`` as mentions and links and ``&`` as an entity."""
    return _slack_escape(text)


def _slack_escape(text: str) -> str:
    # Slack mrkdwn: only these three; this also disarms <!channel> and <@U…> mentions.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_DISCORD_SPECIAL = re.compile(r"([\\*_~`|>#\-\[\]()@<])")


def _discord_escape(text: str) -> str:
    return _DISCORD_SPECIAL.sub(r"\\\1", text)


PLAIN = Flavor(
    escape=lambda t: t,
    strong="",
    em="",
    strike="",
    link=_plain_link,
    code=lambda c: c,
    code_block=lambda c: c,
    heading=lambda t: t,
)
SLACK = Flavor(
    escape=_slack_escape,
    strong="*",
    em="_",
    strike="~",
    link=lambda label, url: (
        f"<{url.replace('|', '%7C').replace('>', '%3E')}|{label.replace('|', '').replace('>', '')}>"
    ),
    code=lambda c: f"`{_slack_escape(c)}`",
    code_block=lambda c: f"```\n{_slack_escape(c)}\n```",
    heading=lambda t: f"*{t}*",
)
# A backtick in code cannot be escaped in Discord: a look-alike keeps it from closing the code.
DISCORD = Flavor(
    escape=_discord_escape,
    strong="**",
    em="*",
    strike="~~",
    link=lambda label, url: f"[{label}]({url.replace(')', '%29')})",
    code=lambda c: "`" + c.replace("`", "\u02cb") + "`",
    code_block=lambda c: "```\n" + c.replace("```", "\u02cb\u02cb\u02cb") + "\n```",
    heading=lambda t: f"**{t}**",
)


def _tg_escape(text: str) -> str:
    return html.escape(text, quote=False)


# Telegram's HTML mode: a handful of tags, and only &lt; &gt; &amp; &quot; as entities.
TELEGRAM = Flavor(
    escape=_tg_escape,
    strong="<b>",
    em="<i>",
    strike="<s>",
    link=lambda label, url: f'<a href="{html.escape(url, quote=True)}">{label}</a>',
    code=lambda c: f"<code>{_tg_escape(c)}</code>",
    code_block=lambda c: f"<pre>{_tg_escape(c)}</pre>",
    heading=lambda t: f"<b>{t}</b>",
    closers={"strong": "</b>", "em": "</i>", "strike": "</s>"},
)
_MARKERS = {"strong": "strong", "em": "em", "s": "strike"}


def _inline_text(children: list[Token] | None, flavor: Flavor = PLAIN) -> str:
    out: list[str] = []
    links: list[tuple[str, int]] = []  # (href, where the link text starts)
    for token in children or []:
        kind = token.type
        if kind in ("text", "html_inline"):
            out.append(flavor.escape(token.content))
        elif kind == "code_inline":
            out.append(flavor.code(token.content))
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "image":
            out.append(flavor.escape(token.content or str(token.attrGet("alt") or "")))
        elif kind.removesuffix("_open").removesuffix("_close") in _MARKERS:
            name = _MARKERS[kind.rsplit("_", 1)[0]]
            closing = kind.endswith("_close") and name in flavor.closers
            out.append(flavor.closers[name] if closing else getattr(flavor, name))
        elif kind == "link_open":
            links.append((str(token.attrGet("href") or ""), len(out)))
        elif kind == "link_close" and links:
            href, start = links.pop()
            label = "".join(out[start:])
            del out[start:]
            out.append(flavor.link(label, href))
    return "".join(out)


def markdown_to_text(markdown: str) -> str:
    """Plain text for email and chat fallbacks: structure kept, markup dropped.

    Lists become ``- item`` / ``1. item``, links ``text (url)``, code stays verbatim, and
    blocks are separated by a blank line (list items and table rows by a newline).
    """
    return _text_from_tokens(_MD.parse(markdown))


def markdown_to_slack(markdown: str) -> str:
    """Slack mrkdwn: ``*bold*``, ``<url|label>``, with ``& < >`` escaped in all text."""
    return _text_from_tokens(_MD.parse(markdown), SLACK)


def markdown_to_telegram(markdown: str) -> str:
    """Telegram HTML (parse_mode HTML): <b>, <i>, <a>, <code>, <pre>; user text escaped."""
    return _text_from_tokens(_MD.parse(markdown), TELEGRAM)


def markdown_in_flavor(markdown: str, flavor: Flavor) -> str:
    """Markdown re-written in a channel's own markup (its :class:`Flavor`)."""
    return _text_from_tokens(_MD.parse(markdown), flavor)


def markdown_to_discord(markdown: str) -> str:
    """Discord Markdown, with user text backslash-escaped (mentions included)."""
    return _text_from_tokens(_MD.parse(markdown), DISCORD)


def _text_from_tokens(tokens: list[Token], flavor: Flavor = PLAIN) -> str:
    # (text, run): consecutive lines of the same list or table (same run) join with a newline.
    blocks: list[tuple[str, int | None]] = []
    run = 0
    lists: list[list[Any]] = []  # [ordered, counter]
    quote_depth = 0
    item_marker: str | None = None
    cells: list[str] = []
    in_cell = False
    in_heading = False

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
            add(flavor.code_block(token.content.rstrip("\n")), bool(lists))
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
        elif kind == "heading_open":
            in_heading = True
        elif kind == "heading_close":
            in_heading = False
        elif kind == "inline":
            text = _inline_text(token.children, flavor)
            if in_heading:
                text = flavor.heading(text)
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
