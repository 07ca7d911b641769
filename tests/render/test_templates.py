"""Rendering: Jinja in a sandbox, values escaped for Markdown/HTML/text, actions as URLs."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clarion.render import (
    RenderContext,
    Rendered,
    RenderedAction,
    TemplateError,
    markdown_to_text,
    render_event,
    validate_templates,
)

BODY = (
    "Hi {{ user_name }},\n\nYour workspace **{{ labels.name }}** was deleted.\n\n"
    "The reason: {{ labels.reason }}"
)
ATTACKS = [
    "<script>alert(1)</script>",
    "**bold**",
    "[x](javascript:alert(1))",
    "`code`",
    "# heading",
    "- item",
    "1. item",
    "> quote",
    "|table|",
    "<img src=x onerror=alert(1)>",
    "&lt;b&gt;",
    "_under_ ~~strike~~",
    "<https://evil.example>",
    "![img](https://evil.example/x.png)",
    "\\*not em\\*",
]
# Tags only the template (or the Markdown paragraph) may produce in these bodies.
TEMPLATE_TAGS = {"p", "/p", "strong", "/strong", "br"}


def ctx(**labels: str) -> RenderContext:
    return RenderContext(
        template_id="f517da0b-cdc9-410f-ab89-a86107c420ed",
        template_name="Workspace Deleted",
        user_id="5c3b1d2e-0000-4000-8000-000000000001",
        user_email="ann@example.com",
        user_name="Ann",
        user_username="ann",
        labels=labels,
        data={"volumes": [{"path": "/home"}]},
        base_url="https://clarion.example.com",
    )


def tags(html: str) -> set[str]:
    return {m.lower() for m in re.findall(r"<\s*(/?[a-zA-Z0-9]+)", html)}


def test_renders_a_coder_like_template() -> None:
    r = render_event(
        'Workspace "{{ labels.name }}" deleted',
        BODY,
        [{"label": "View workspaces", "url": "{{ base_url }}/workspaces"}],
        ctx(name="dev", reason="idle"),
    )
    assert r.title == 'Workspace "dev" deleted'
    assert r.title_markdown == 'Workspace "dev" deleted'
    assert r.body_markdown == ("Hi Ann,\n\nYour workspace **dev** was deleted.\n\nThe reason: idle")
    assert r.body_text == "Hi Ann,\n\nYour workspace dev was deleted.\n\nThe reason: idle"
    assert r.body_html == (
        "<p>Hi Ann,</p>\n<p>Your workspace <strong>dev</strong> was deleted.</p>\n"
        "<p>The reason: idle</p>"
    )
    assert r.actions == (
        RenderedAction("View workspaces", "https://clarion.example.com/workspaces"),
    )


def test_every_helper_is_a_plain_variable() -> None:
    r = render_event(
        "{{ app_name }} {{ current_year }}",
        "{{ base_url }} {{ logo_url }} {{ user_id }} {{ user_email }} {{ user_name }} "
        "{{ user_username }} {{ template_id }} {{ template_name }} {{ data.volumes[0].path }}",
        [],
        ctx(),
    )
    assert r.title == f"Clarion {datetime.now(UTC).year}"
    assert r.body_text == (
        "https://clarion.example.com https://clarion.example.com/static/logo.png "
        "5c3b1d2e-0000-4000-8000-000000000001 ann@example.com Ann ann "
        "f517da0b-cdc9-410f-ab89-a86107c420ed Workspace Deleted /home"
    )


def test_current_year_is_an_int_and_appearance_overrides_apply() -> None:
    custom = RenderContext(
        template_id="t",
        template_name="T",
        user_id="",
        user_email="",
        user_name="",
        user_username="",
        labels={},
        data={},
        base_url="http://127.0.0.1:8080",
        app_name="Acme Alerts",
        logo_url="https://cdn.example.com/acme.svg",
    )
    r = render_event(
        "{{ app_name }} {{ current_year + 1 }}",
        "{{ logo_url }}",
        [{"label": "Logo", "url": "{{ logo_url }}"}],
        custom,
    )
    assert r.title == f"Acme Alerts {datetime.now(UTC).year + 1}"
    assert r.body_text == "https://cdn.example.com/acme.svg"
    assert r.actions[0].url == "https://cdn.example.com/acme.svg"


@pytest.mark.parametrize("attack", ATTACKS)
def test_label_values_are_data_never_markup(attack: str) -> None:
    r = render_event("Title {{ labels.name }}", BODY, [], ctx(name=attack, reason=attack))
    assert r.title == f"Title {attack}"
    assert markdown_to_text(r.title_markdown) == f"Title {attack}"
    assert r.body_text.count(attack) == 2
    assert markdown_to_text(r.body_markdown) == r.body_text
    # The only tags are the template's: no link, image, emphasis, code, heading, list, quote.
    assert tags(r.body_html) <= TEMPLATE_TAGS, r.body_html
    assert not re.search(r"<[^>]*(href|src)=", r.body_html)


def test_template_authored_markdown_still_renders() -> None:
    r = render_event(
        "t",
        "## {{ labels.h }}\n\n- [{{ labels.a }}]({{ base_url }}/x)\n- *{{ labels.c }}*",
        [],
        ctx(h="Head *x*", a="link [y]", c="it_em"),
    )
    assert "<h2>Head *x*</h2>" in r.body_html
    assert '<a href="https://clarion.example.com/x" rel="noopener noreferrer">link [y]</a>' in (
        r.body_html
    )
    assert "<em>it_em</em>" in r.body_html
    assert r.body_text == "Head *x*\n\n- link [y] (https://clarion.example.com/x)\n- it_em"


def test_values_inside_code_are_verbatim() -> None:
    # Backslash escapes would show inside code, so there the value goes in as it is.
    r = render_event(
        "Resource `{{ labels.r }}`",
        "- `{{ labels.r }}` and {{ labels.r }}\n\n```\n{{ labels.p }}\n```\n\n    {{ labels.p }}",
        [],
        ctx(r="docker_container.main[0]", p="~/my-dir/*.log"),
    )
    assert r.title_markdown == "Resource `docker_container.main[0]`"
    assert r.title == "Resource docker_container.main[0]"
    assert "<code>docker_container.main[0]</code> and docker_container.main[0]" in r.body_html
    assert r.body_html.count("<code>~/my-dir/*.log\n</code>") == 2
    assert r.body_text == (
        "- docker_container.main[0] and docker_container.main[0]\n\n"
        "~/my-dir/*.log\n\n~/my-dir/*.log"
    )


@pytest.mark.parametrize(
    "value", ["a` [x](https://evil.example) `b", "a\n\n[x](https://evil.example)", "```\n# h"]
)
def test_values_cannot_break_out_of_code(value: str) -> None:
    r = render_event("t", "`{{ labels.v }}`\n\n```\n{{ labels.v }}\n```\n\nend", [], ctx(v=value))
    assert "<a " not in r.body_html and "<h1>" not in r.body_html
    assert r.body_html.endswith("<p>end</p>")


def test_code_block_filter_fences_multiline_values() -> None:
    value = "line 1\n```\n# not a heading"
    r = render_event("t", "Log:\n\n{{ labels.log | code_block }}\n\nend", [], ctx(log=value))
    assert r.body_text == f"Log:\n\n{value}\n\nend"
    assert "<h1>" not in r.body_html


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
        min_size=1,
        max_size=40,
    ).filter(lambda s: s.strip() == s)
)
def test_any_text_label_survives_verbatim(value: str) -> None:
    # Single-line values: CommonMark replaces NUL and folds line breaks and edge spaces.
    r = render_event("T {{ labels.v }}", "Value: {{ labels.v }}", [], ctx(v=value))
    assert r.title == f"T {value}"
    assert r.body_text == f"Value: {value}"
    assert tags(r.body_html) == {"p", "/p"}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(" \t\n\r=-*_#>|`~+.1)[]<>!:x"), max_size=30))
def test_multiline_label_cannot_make_blocks(value: str) -> None:
    # Line breaks may split paragraphs, but no heading, list, quote, code block or rule appears.
    r = render_event("T", "Value: {{ labels.v }}", [], ctx(v=value))
    assert tags(r.body_html) <= {"p", "/p", "br"}, r.body_html


def test_action_urls_percent_encode_values() -> None:
    r = render_event(
        "t",
        "b",
        [
            {
                "label": "Open {{ labels.name }}",
                "url": "{{ base_url }}/@{{ user_username }}/{{ labels.name }}?q={{ labels.q }}",
            }
        ],
        ctx(name="my ws <1>/../admin", q="a&b=c#d%2F"),
    )
    assert r.actions[0].url == (
        "https://clarion.example.com/@ann/my%20ws%20%3C1%3E%2F..%2Fadmin?q=a%26b%3Dc%23d%252F"
    )
    assert r.actions[0].label == "Open my ws <1>/../admin"


def test_action_url_may_be_a_whole_link_label() -> None:
    r = render_event(
        "t",
        "b",
        [{"label": "Build", "url": "{{ labels.link }}"}],
        ctx(link="https://ci.example.com/b/1?x=2&y=a b#log"),
    )
    assert r.actions[0].url == "https://ci.example.com/b/1?x=2&y=a%20b#log"


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://x.example/f", "/relative", "mailto:a@b.c", ""]
)
def test_action_url_must_be_absolute_http(url: str) -> None:
    with pytest.raises(TemplateError, match=r"action 2 url.*not an absolute http"):
        render_event(
            "t",
            "b",
            [{"label": "A", "url": "{{ base_url }}"}, {"label": "B", "url": "{{ labels.link }}"}],
            ctx(link=url),
        )


def test_missing_label_names_it() -> None:
    with pytest.raises(TemplateError, match=r"^body: label 'reason' is missing"):
        render_event("t", BODY, [], ctx(name="dev"))
    with pytest.raises(TemplateError, match=r"^action 1 label: label 'who' is missing"):
        render_event("t", "b", [{"label": "{{ labels.who }}", "url": "{{ base_url }}"}], ctx())
    with pytest.raises(TemplateError, match=r"^title: data key 'n' is missing"):
        render_event("{{ data.n }}", "b", [], ctx())


def test_sandbox_refuses_internals() -> None:
    for source in (
        "{{ ''.__class__.__mro__ }}",
        "{{ labels.__class__ }}",
        "{{ user_name.format.__globals__ }}",
    ):
        with pytest.raises(TemplateError, match=r"^title: not allowed in a template: .*unsafe"):
            render_event(source, "b", [], ctx())
    with pytest.raises(TemplateError, match=r"not allowed"):
        validate_templates("{{ ''.__class__.__mro__ }}", "b", [])


def test_validation_reports_syntax_errors_with_template_and_line() -> None:
    with pytest.raises(TemplateError, match=r"^body: syntax error on line 2"):
        validate_templates("t", "ok\n{% if %}", [])
    with pytest.raises(TemplateError, match=r"^title: syntax error on line 1"):
        validate_templates("{{ labels.x ", "b", [])
    with pytest.raises(TemplateError, match=r"^action 1 url: syntax error on line 1"):
        validate_templates("t", "b", [{"label": "L", "url": "{{ base_url }}/{% endfor %}"}])


def test_validation_reports_unknown_variables_and_labels() -> None:
    with pytest.raises(TemplateError, match=r"^title: unknown variable\(s\) nope"):
        validate_templates("{{ nope }}", "b", [])
    with pytest.raises(TemplateError, match=r"^action 1 label: unknown variable\(s\) secrets"):
        validate_templates("t", "b", [{"label": "{{ secrets }}", "url": "{{ base_url }}"}])
    with pytest.raises(TemplateError, match=r"^title: label 'x' is missing"):
        validate_templates("{{ labels.x }}", "b", [], required_labels=())
    with pytest.raises(TemplateError, match=r"^action 1 url: .*not an absolute http"):
        validate_templates("t", "b", [{"label": "L", "url": "ftp://{{ labels.x }}"}], ["x"])
    validate_templates(
        "{{ labels.x }}",
        "{{ user_name }} {{ current_year }} {{ data.get('n', 0) }}",
        [{"label": "L", "url": "{{ labels.x }}"}],
        ["x"],
    )


def test_rendered_round_trips() -> None:
    r = render_event(
        "t", BODY, [{"label": "L", "url": "{{ base_url }}"}], ctx(name="a", reason="b")
    )
    as_dict = r.to_dict()
    assert as_dict["actions"] == [{"label": "L", "url": "https://clarion.example.com"}]
    assert set(as_dict) == {
        "title",
        "title_markdown",
        "body_markdown",
        "body_text",
        "body_html",
        "actions",
    }
    assert Rendered.from_dict(as_dict) == r
