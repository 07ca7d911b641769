"""Rendering: Jinja in a sandbox, values escaped for Markdown/HTML/text, actions as URLs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clarion.render import (
    RenderContext,
    Rendered,
    TemplateError,
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
]


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


def test_renders_a_coder_like_template() -> None:
    r = render_event(
        'Workspace "{{ labels.name }}" deleted',
        BODY,
        [{"label": "View workspaces", "url": "{{ base_url }}/workspaces"}],
        ctx(name="dev", reason="idle"),
    )
    assert r.title == 'Workspace "dev" deleted'
    assert "**dev**" in r.body_markdown
    assert r.body_text == "Hi Ann,\n\nYour workspace dev was deleted.\n\nThe reason: idle"
    assert "<strong>dev</strong>" in r.body_html
    assert [(a.label, a.url) for a in r.actions] == [
        ("View workspaces", "https://clarion.example.com/workspaces")
    ]


def test_helpers_are_available() -> None:
    r = render_event(
        "{{ app_name }} {{ current_year }}",
        "{{ base_url }} {{ logo_url }} {{ user_email }} {{ user_username }} {{ template_id }} "
        "{{ template_name }} {{ data.volumes[0].path }}",
        [],
        ctx(),
    )
    assert r.title == f"Clarion {datetime.now(UTC).year}"
    text = r.body_text
    assert "https://clarion.example.com https://clarion.example.com/static/logo.png" in text
    assert (
        "ann@example.com ann f517da0b-cdc9-410f-ab89-a86107c420ed Workspace Deleted /home" in text
    )


@pytest.mark.parametrize("attack", ATTACKS)
def test_label_values_are_data_never_markup(attack: str) -> None:
    r = render_event("Title {{ labels.name }}", BODY, [], ctx(name=attack, reason=attack))
    assert attack in r.title
    assert r.body_text.count(attack) == 2
    # No tag, link or emphasis came from the label: the HTML holds only what the template made.
    html = r.body_html.replace("<strong>", "").replace("</strong>", "", 1)
    for tag in (
        "<script",
        "<img",
        "<a ",
        "<em>",
        "<code>",
        "<h1>",
        "<li>",
        "<blockquote>",
        "<del>",
    ):
        assert tag not in html, (attack, r.body_html)
    assert "javascript:" not in r.body_html or "href" not in r.body_html


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
        min_size=1,
        max_size=40,
    ).filter(lambda s: s.strip() == s)
)
def test_any_text_label_survives_verbatim(value: str) -> None:
    # Control characters are excluded: CommonMark replaces NUL, and line breaks fold.
    r = render_event("T", "Value: {{ labels.v }}", [], ctx(v=value))
    assert r.body_text == f"Value: {value}"
    assert "<" not in r.body_html.replace("<p>", "").replace("</p>", "").replace("<br />", "")


def test_action_urls_quote_values_and_must_be_http() -> None:
    r = render_event(
        "t",
        "b",
        [
            {
                "label": "Open {{ labels.name }}",
                "url": "{{ base_url }}/@{{ user_username }}/{{ labels.name }}",
            }
        ],
        ctx(name="my ws <1>"),
    )
    assert r.actions[0].url == "https://clarion.example.com/@ann/my%20ws%20%3C1%3E"
    assert r.actions[0].label == "Open my ws <1>"
    whole = render_event(
        "t",
        "b",
        [{"label": "L", "url": "{{ labels.link }}"}],
        ctx(link="https://ci.example.com/b/1?x=2"),
    )
    assert whole.actions[0].url == "https://ci.example.com/b/1?x=2"
    with pytest.raises(TemplateError, match=r"action 1 url.*not an absolute http"):
        render_event(
            "t", "b", [{"label": "L", "url": "{{ labels.link }}"}], ctx(link="javascript:alert(1)")
        )


def test_missing_label_names_it() -> None:
    with pytest.raises(TemplateError, match=r"body: label .reason. is missing"):
        render_event("t", BODY, [], ctx(name="dev"))


def test_validation_catches_errors_at_creation() -> None:
    with pytest.raises(TemplateError, match=r"body: syntax error on line 2"):
        validate_templates("t", "ok\n{% if %}", [])
    with pytest.raises(TemplateError, match=r"title: unknown variable.*nope"):
        validate_templates("{{ nope }}", "b", [])
    with pytest.raises(TemplateError, match=r"title: label .x. is missing"):
        validate_templates("{{ labels.x }}", "b", [], required_labels=())
    with pytest.raises(TemplateError, match=r"not allowed"):
        validate_templates("{{ ''.__class__.__mro__ }}", "b", [])
    validate_templates("{{ labels.x }}", "b", [{"label": "L", "url": "{{ labels.x }}"}], ["x"])


def test_rendered_round_trips() -> None:
    r = render_event(
        "t", BODY, [{"label": "L", "url": "{{ base_url }}"}], ctx(name="a", reason="b")
    )
    assert Rendered.from_dict(r.to_dict()) == r
