"""Rendering from a cached skeleton gives exactly what rendering the filled Markdown gives."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clarion.intake.catalog import BUILTIN_EVENT_TYPES, EventTypeSpec
from clarion.render import RenderContext, markdown_to_text, render_event
from clarion.render.markdown import markdown_to_html_and_text
from clarion.render.values import _skeleton_renderings

# Letters, digits, Markdown and HTML specials, spaces (also no-break), quotes, non-ASCII.
ALPHABET = "aZ09 *_`[]()<>&#!|~\\-+.\"'\u00a0éß€\n"
_any = st.text(alphabet=ALPHABET, max_size=12)
# Half the values start and end with a letter, as most labels do (the cached path's case).
value = st.one_of(_any, _any.map(lambda v: f"a{v.strip()}9"))


def _render(spec: EventTypeSpec, labels: dict[str, str]):  # type: ignore[no-untyped-def]
    ctx = RenderContext(
        template_id=str(spec.id),
        template_name=spec.name,
        user_id="7d0e5b1a-2f3c-4d6e-8a9b-0c1d2e3f4a5b",
        user_email="ann@example.com",
        user_name="Ann Example",
        user_username="ann",
        labels=labels,
        data=dict(spec.example_data),
        base_url="https://clarion.example.com",
    )
    actions = [{"label": a.label, "url": a.url} for a in spec.actions]
    return render_event(spec.title_template, spec.body_template, actions, ctx)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(spec=st.sampled_from(BUILTIN_EVENT_TYPES), values=st.lists(value, min_size=8, max_size=8))
def test_cached_skeleton_rendering_equals_full_rendering(
    spec: EventTypeSpec, values: list[str]
) -> None:
    names = sorted({*spec.required_labels, *spec.optional_labels})
    labels = {name: values[i % len(values)] or "x" for i, name in enumerate(names)}
    for name in names:
        if name.endswith("url") and name in spec.example_labels:  # actions need real URLs
            labels[name] = spec.example_labels[name]
    rendered = _render(spec, labels)
    html, text = markdown_to_html_and_text(rendered.body_markdown)
    assert (rendered.body_html, rendered.body_text) == (html, text)
    title = " ".join(markdown_to_text(rendered.title_markdown).split("\n")).strip()
    assert rendered.title == title


def test_plain_values_take_the_cached_path() -> None:
    spec = next(s for s in BUILTIN_EVENT_TYPES if s.key == "workspace_deleted")
    _skeleton_renderings.cache_clear()
    for n in range(3):
        _render(spec, {"name": f"dev{n}", "reason": "idle for 30 days", "initiator": "bob"})
    info = _skeleton_renderings.cache_info()
    assert info.misses == 1 and info.hits == 2
