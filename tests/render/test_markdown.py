"""Markdown to sanitized HTML and to readable text."""

from __future__ import annotations

from clarion.render import escape_markdown, markdown_to_html, markdown_to_text


def test_text_keeps_structure_and_drops_markup() -> None:
    md = (
        "# Heading\n\nSome **bold** and _em_ with a [link](https://e.com/x) and "
        "<https://e.com>.\n\n- one\n- two\n  - nested\n\n1. first\n2. second\n\n"
        "```\ncode *stays*\n```\n\n> quoted\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert markdown_to_text(md) == (
        "Heading\n\nSome bold and em with a link (https://e.com/x) and https://e.com.\n\n"
        "- one\n- two\n  - nested\n\n1. first\n2. second\n\ncode *stays*\n\n> quoted\n\n"
        "a | b\n1 | 2"
    )


def test_html_is_sanitized() -> None:
    html = markdown_to_html(
        "[x](javascript:alert(1)) <script>alert(1)</script> [ok](https://e.com)"
    )
    assert "javascript:" not in html.split("&lt;")[0] or 'href="javascript' not in html
    assert 'href="javascript' not in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://e.com" rel="noopener noreferrer">ok</a>' in html


def test_escape_makes_markdown_literal() -> None:
    value = "*a* _b_ [c](d) `e` <f> # g"
    assert markdown_to_text(escape_markdown(value)) == value
    assert "<em>" not in markdown_to_html(escape_markdown(value))
