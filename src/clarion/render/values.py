"""Where printed values go in rendered Markdown: escaped in text, verbatim inside code.

A Markdown template prints each ``{{ … }}`` value as a placeholder (its index between two
private-use characters, inert in Markdown). One parse of that skeleton tells which placeholders
sit in a code span or code block, where backslash escapes would show literally: those get the
raw value when it cannot end the code; every other placeholder gets the escaped value.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from clarion.render.limits import charge
from clarion.render.markdown import (
    escape_markdown,
    markdown_to_html_and_text,
    markdown_to_text,
    parse_markdown,
)

# Not an identifier, so no template can read or change the list behind it.
VALUES_KEY = "clarion:values"

_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
# Code needs a backtick, a tilde fence or indentation; without them, skip the skeleton parse.
_MAY_HOLD_CODE = re.compile(r"`|~~~| {4}|\t")
# A raw value must not close its code: a backtick ends a span and a line break may end the
# paragraph holding it; a fence is closed by a line of backticks or tildes.
_ENDS_INLINE_CODE = re.compile(r"[`\r\n]")
_ENDS_CODE_BLOCK = re.compile(r"[\r\n]|```|~~~")


class Trusted(str):
    """A helper value (``base_url``, ``logo_url``) printed as is."""

    __slots__ = ()


@pass_context  # also stops Jinja from finalizing constants once, at compile time
def hold(context: Context, value: Any) -> str:
    """Jinja ``finalize`` hook: keep ``value`` aside and print its placeholder."""
    return keep(context[VALUES_KEY], value)


def keep(values: list[str], value: Any) -> str:
    """Put ``value`` in ``values`` and return its placeholder (helpers print as they are)."""
    if isinstance(value, Trusted):
        return str(value)
    text = "" if value is None else str(value)
    if "\ue000" in text:  # built from printed values (e.g. {% set %}): data as a whole
        text = _PLACEHOLDER.sub(lambda m: _value_at(values, m), text)
    charge(0, len(text))
    values.append(text)
    return f"\ue000{len(values) - 1}\ue001"


def fill(skeleton: str, values: list[str]) -> str:
    """Replace each placeholder with its value, escaped unless it sits inside code."""
    if not values:
        return skeleton
    in_code = _placeholders_in_code(skeleton) if _MAY_HOLD_CODE.search(skeleton) else {}

    def value_for(match: re.Match[str]) -> str:
        index = int(match[1])
        if index >= len(values):  # the template's own text, not a placeholder
            return match[0]
        value = values[index]
        kind = in_code.get(index)
        if kind == "inline" and not _ENDS_INLINE_CODE.search(value):
            return value
        if kind == "block" and not _ENDS_CODE_BLOCK.search(value):
            return value
        return escape_markdown(value)

    return _PLACEHOLDER.sub(value_for, skeleton)


def _value_at(values: list[str], match: re.Match[str]) -> str:
    index = int(match[1])
    return values[index] if index < len(values) else match[0]


def _placeholders_in_code(skeleton: str) -> dict[int, str]:
    found: dict[int, str] = {}
    for token in parse_markdown(skeleton):
        if token.type in ("fence", "code_block"):
            contents = [(token.content, "block")]
        elif token.type == "inline":
            children = token.children or []
            contents = [(c.content, "inline") for c in children if c.type == "code_inline"]
        else:
            continue
        for content, kind in contents:
            for match in _PLACEHOLDER.finditer(content):
                found[int(match[1])] = kind
    return found


# --- rendering a skeleton once for many values --------------------------------------------------
#
# Parsing Markdown is most of the cost of rendering an event. Events of one type share their
# skeleton (the template's output with placeholders), so the skeleton is rendered to HTML and
# text once and each event's values are put into those renderings. That equals rendering the
# filled Markdown when every value is plain text there: not in code, not in a link target, and
# unable to change the Markdown around it (no line breaks; starts and ends with a letter or
# digit, so it cannot turn a neighbouring ``*`` or ``_`` into emphasis or out of it). Any
# other value takes the full path.

_HTML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\u00a0": "&nbsp;"})
_IN_TAG = re.compile("<[^>]*\ue000")


def _plain_value(value: str) -> bool:
    return bool(value) and value[0].isalnum() and value[-1].isalnum() and "\n" not in value


@lru_cache(maxsize=512)
def _skeleton_renderings(skeleton: str) -> tuple[str, str] | None:
    """(HTML, text) of a skeleton whose placeholders all landed in text content."""
    if _MAY_HOLD_CODE.search(skeleton):
        return None
    count = _placeholder_count(skeleton)
    html, text = markdown_to_html_and_text(skeleton)
    if _IN_TAG.search(html):
        return None
    if len(_PLACEHOLDER.findall(html)) != count or len(_PLACEHOLDER.findall(text)) != count:
        return None
    return html, text


@lru_cache(maxsize=512)
def _skeleton_text(skeleton: str) -> str | None:
    if _MAY_HOLD_CODE.search(skeleton):
        return None
    text = markdown_to_text(skeleton)
    return text if len(_PLACEHOLDER.findall(text)) == _placeholder_count(skeleton) else None


@lru_cache(maxsize=512)
def _placeholder_count(skeleton: str) -> int:
    return len(_PLACEHOLDER.findall(skeleton))


def _usable(skeleton: str, values: list[str]) -> bool:
    return all(_plain_value(v) for v in values) and _placeholder_count(skeleton) == len(values)


def html_and_text(skeleton: str, values: list[str], filled: str) -> tuple[str, str]:
    """``markdown_to_html_and_text(filled)`` (``filled`` is ``skeleton`` with ``values``),
    from a cached rendering of the skeleton when it can."""
    if _usable(skeleton, values):
        found = _skeleton_renderings(skeleton)
        if found is not None:
            html, text = found
            return (
                _PLACEHOLDER.sub(lambda m: values[int(m[1])].translate(_HTML_TEXT), html),
                _PLACEHOLDER.sub(lambda m: values[int(m[1])], text),
            )
    return markdown_to_html_and_text(filled)


def plain_text(skeleton: str, values: list[str], filled: str) -> str:
    """``markdown_to_text(filled)``, from a cached rendering of the skeleton when it can."""
    if _usable(skeleton, values):
        text = _skeleton_text(skeleton)
        if text is not None:
            return _PLACEHOLDER.sub(lambda m: values[int(m[1])], text)
    return markdown_to_text(filled)
