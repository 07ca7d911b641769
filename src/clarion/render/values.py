"""Where printed values go in rendered Markdown: escaped in text, verbatim inside code.

A Markdown template prints each ``{{ … }}`` value as a placeholder (its index between two
private-use characters, inert in Markdown). One parse of that skeleton tells which placeholders
sit in a code span or code block, where backslash escapes would show literally: those get the
raw value when it cannot end the code; every other placeholder gets the escaped value.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from clarion.render.markdown import escape_markdown, parse_markdown

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
    if isinstance(value, Trusted):
        return str(value)
    values: list[str] = context[VALUES_KEY]
    text = "" if value is None else str(value)
    if "\ue000" in text:  # built from printed values (e.g. {% set %}): data as a whole
        text = _PLACEHOLDER.sub(lambda m: _value_at(values, m), text)
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
