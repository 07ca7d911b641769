"""Bounded templates: a template that would build a huge value or loop without end is refused
when it is validated (before the work is done), and a render over a bound names its part."""

from __future__ import annotations

import pytest

from clarion.render import RenderContext, TemplateError, render_event, validate_templates
from clarion.render.limits import MAX_RENDERED_CHARS

# Each of these, unbounded, holds the event loop for seconds to hours or takes gigabytes.
EXHAUSTING = {
    "repeat": "{{ 'x' * 10000000 }}",
    "repeat by a power": "{{ 'x' * 10 ** 9 }}",
    "huge power": "{{ 10 ** (10 ** 9) }}",
    "repeated list": "{{ ([1] * 100000000) | length }}",
    "nested loops": (
        "{% for a in range(100000) %}{% for b in range(100000) %}"
        "{% for c in range(100000) %}{{ c }}{% endfor %}{% endfor %}{% endfor %}"
    ),
    "loops over a string": (
        "{% set s = 'abcdefghij' * 1000 %}"
        "{% for a in s %}{% for b in s %}{% for c in s %}.{% endfor %}{% endfor %}{% endfor %}"
    ),
    "doubling by ~": (
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}"
    ),
    "doubling by +": (
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}"
    ),
    "list doubling in place": (
        "{% set l = [1] %}{% for i in range(64) %}{% if l.extend(l) %}{% endif %}{% endfor %}"
        "{{ l | length }}"
    ),
    "padding method": "{{ 'x'.center(1000000000) | length }}",
    "padding filter": "{{ 'x' | center(1000000000) | length }}",
    "printf width": "{{ '%1000000000s' % 'x' }}",
    "format width": "{{ '{:>1000000000}'.format('x') | length }}",
    "replace growth": (
        "{% set s = 'ab' * 1000 %}{{ s | replace('a', s) | replace('a', s) | length }}"
    ),
    "join growth": "{% set s = 'ab' * 30000 %}{{ ([s] * 9000) | join }}",
    "indent growth": "{% set s = 'a\n' * 30000 %}{{ s | indent(s) | length }}",
    "macro recursion": (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}"
    ),
    "recursive loop": "{% for c in 'ab' recursive %}{{ loop('ab') }}{% endfor %}",
}


@pytest.mark.parametrize("source", EXHAUSTING.values(), ids=EXHAUSTING.keys())
def test_exhausting_templates_are_refused_at_validation(source: str) -> None:
    with pytest.raises(TemplateError, match=r"^body: too large: "):
        validate_templates("t", source, [])


@pytest.mark.parametrize("source", EXHAUSTING.values(), ids=EXHAUSTING.keys())
def test_exhausting_titles_and_action_parts_name_their_part(source: str) -> None:
    with pytest.raises(TemplateError, match=r"^title: too large: "):
        validate_templates(source, "b", [])
    with pytest.raises(TemplateError, match=r"^action 1 label: too large: "):
        validate_templates("t", "b", [{"label": source, "url": "{{ base_url }}"}])


def test_lorem_ipsum_is_not_available() -> None:
    """It takes its size from its arguments and has no use in a notification."""
    with pytest.raises(TemplateError, match=r"^body: unknown variable\(s\) lipsum"):
        validate_templates("t", "{{ lipsum(n=100000, min=1000, max=10000) }}", [])


def test_a_part_over_the_output_bound_is_refused_with_its_size() -> None:
    over = f"{{{{ 'x' * {MAX_RENDERED_CHARS + 1} }}}}"
    with pytest.raises(TemplateError, match=rf"^body: .*more than {MAX_RENDERED_CHARS} char"):
        validate_templates("t", over, [])
    with pytest.raises(TemplateError, match=r"^action 1 url: .*more than"):
        validate_templates(
            "t", "b", [{"label": "L", "url": "{{ base_url }}/" + over.replace("'x'", "'a'")}]
        )


def test_a_value_over_the_bound_at_render_time_is_refused_naming_the_part() -> None:
    """A type that validated may still render too much for one event's values."""
    body = "{% for line in data.get('lines', []) %}{{ line }}\n{% endfor %}"
    validate_templates("t", body, [])
    ctx = RenderContext(
        template_id="t",
        template_name="T",
        user_id="u",
        user_email="u@example.com",
        user_name="U",
        user_username="u",
        labels={},
        data={"lines": ["y" * 1000] * 100},
        base_url="https://clarion.example.com",
    )
    with pytest.raises(TemplateError, match=rf"^body: .*more than {MAX_RENDERED_CHARS} char"):
        render_event("t", body, [], ctx)


def test_ordinary_loops_filters_and_arithmetic_still_render() -> None:
    ctx = RenderContext(
        template_id="t",
        template_name="T",
        user_id="u",
        user_email="u@example.com",
        user_name="U",
        user_username="u",
        labels={"n": "3"},
        data={"items": [{"name": f"item {i}", "size": i} for i in range(200)]},
        base_url="https://clarion.example.com",
    )
    body = (
        "{% for item in data['items'] %}- {{ item.name | upper }} "
        "({{ '%5d' % (item.size * 2 ** 3) }}){% if not loop.last %}\n{% endif %}{% endfor %}\n\n"
        "{{ data['items'] | map(attribute='name') | join(', ') | truncate(40) }}\n\n"
        "{{ '-' * 20 }} {{ '{:>6}'.format(labels.n) }} {{ 'a,b' | replace(',', ' and ') }}"
    )
    rendered = render_event("{{ labels.n ~ ' items' }}", body, [], ctx)
    assert rendered.title == "3 items"
    assert "- ITEM 199 ( 1592)" in rendered.body_text
    assert "item 0, item 1, item 2" in rendered.body_text
    assert "--------------------      3 a and b" in rendered.body_text.replace("\\", "")
