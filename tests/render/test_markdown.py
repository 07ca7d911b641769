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


def test_text_lists_links_code_and_headings() -> None:
    assert markdown_to_text("3. c\n4. d") == "3. c\n4. d"
    assert markdown_to_text("* a\n* b") == "- a\n- b"
    assert markdown_to_text("[https://e.com](https://e.com)") == "https://e.com"
    assert markdown_to_text("<a@b.c>") == "a@b.c"
    assert markdown_to_text("see `x **y**` now") == "see x **y** now"
    assert markdown_to_text("    indented *code*\n") == "indented *code*"
    assert markdown_to_text("Title\n=====\n\n### Sub ###") == "Title\n\nSub"
    assert markdown_to_text(r"\*literal\* \[x\]") == "*literal* [x]"
    assert markdown_to_text("a  \nb\n\n\n\nc   ") == "a\nb\n\nc"


def test_html_is_sanitized() -> None:
    html = markdown_to_html(
        "[x](javascript:alert(1)) <script>alert(1)</script> [ok](https://e.com) "
        "[m](mailto:a@b.c) [d](data:text/html,x) ![i](https://e.com/i.png)"
    )
    assert 'href="javascript' not in html and 'href="data' not in html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<img" not in html
    assert '<a href="https://e.com" rel="noopener noreferrer">ok</a>' in html
    assert '<a href="mailto:a@b.c" rel="noopener noreferrer">m</a>' in html


def test_html_drops_raw_html_blocks_and_keeps_allowed_markup() -> None:
    html = markdown_to_html('<div onclick="x">hi</div>\n\n**b** ~~s~~\n\n| a |\n|--:|\n| 1 |')
    assert "<div" not in html and "&lt;div" in html
    assert "<strong>b</strong>" in html and "<s>s</s>" in html
    assert '<td style="text-align:right">1</td>' in html


def test_escape_makes_markdown_literal() -> None:
    value = "*a* _b_ [c](d) `e` <f> # g = h & i ~~j~~ \\k"
    assert markdown_to_text(escape_markdown(value)) == value
    assert markdown_to_html(escape_markdown(value)) == (
        "<p>*a* _b_ [c](d) `e` &lt;f&gt; # g = h &amp; i ~~j~~ \\k</p>"
    )


def test_escape_stops_indentation_and_setext_headings() -> None:
    value = "Title\n===\n\n    not code\n\n- not a list"
    html = markdown_to_html(escape_markdown(value))
    assert "<h1>" not in html and "<pre>" not in html and "<li>" not in html
    assert markdown_to_text(escape_markdown(value)) == value
