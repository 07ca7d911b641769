"""Templates run without Jinja: what Jinja would print, and the same errors."""

from __future__ import annotations

import functools

import jinja2
from hypothesis import given, settings
from hypothesis import strategies as st

from clarion.intake.catalog import BUILTIN_EVENT_TYPES
from clarion.render import RenderContext, templates
from clarion.render.direct import compile_direct
from clarion.render.values import VALUES_KEY

ENVS = {
    "markdown": templates._MARKDOWN_ENV,
    "url": templates._URL_ENV,
    "plain": templates._PLAIN_ENV,
}


def _direct(kind: str, source: str) -> object:
    env = ENVS[kind]
    return compile_direct(env.parse(source), env, templates.VARIABLES, templates._FINALIZE[kind])


_LEAVES = [
    "labels.name",
    "labels['reason']",
    "labels.missing",
    "data.count",
    "user_name",
    "user_username",
    "base_url",
    "current_year",
    "(labels.missing is defined)",
    "(labels.name is not defined)",
    "(labels.missing | default('dflt'))",
    "(labels.name | upper)",
    "(labels.missing | trim)",
    "(data.count | string)",
    "(labels.reason | code_block)",
    "labels.items",
    "(labels.name | replace('a', 'b'))",  # not taken: Jinja runs these
]


def _expressions() -> st.SearchStrategy[str]:
    return st.recursive(
        st.sampled_from(_LEAVES),
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda p: f"({p[0]} or {p[1]})"),
            st.tuples(inner, inner).map(lambda p: f"({p[0]} and {p[1]})"),
            inner.map(lambda e: f"(not {e})"),
        ),
        max_leaves=4,
    )


def _bodies() -> st.SearchStrategy[str]:
    text = st.text(alphabet="ab *_`\n-.}\ue000\ue0010", max_size=6)
    printed = _expressions().map(lambda e: "{{ " + e + " }}")
    return st.recursive(
        st.lists(st.one_of(text, printed), max_size=4).map("".join),
        lambda inner: (
            st.tuples(_expressions(), inner, _expressions(), inner, inner).map(
                lambda p: (
                    f"{{% if {p[0]} %}}{p[1]}{{% elif {p[2]} %}}{p[3]}{{% else %}}{p[4]}"
                    "{% endif %}"
                )
            )
            | st.lists(inner, min_size=2, max_size=3).map("".join)
        ),
        max_leaves=6,
    )


_VALUES = st.sampled_from(["", "ws-1", "a*b", "\ue0000\ue001", "x\ny", "https://e.example/a b"])


@settings(max_examples=300, deadline=None)
@given(
    source=_bodies(),
    kind=st.sampled_from(["markdown", "url", "plain"]),
    labels=st.dictionaries(st.sampled_from(["name", "reason"]), _VALUES),
    count=st.sampled_from([0, 3, None, "n"]),
    user_name=st.sampled_from(["", "Ann"]),
)
def test_the_direct_renderer_prints_what_jinja_prints(
    source: str, kind: str, labels: dict[str, str], count: object, user_name: str
) -> None:
    """Same text, same values kept aside, same error message — for every template it takes."""
    direct = _direct(kind, source)
    jinja = functools.partial(templates._run, ENVS[kind].from_string(source))
    if "labels.items" not in source and "replace" not in source:
        assert direct is not None, source

    def outcome(render: object) -> tuple[str, object, list[str]]:
        ctx = RenderContext(
            template_id="t",
            template_name="T",
            user_id="u",
            user_email="e@x.example",
            user_name=user_name,
            user_username="ann",
            labels=labels,
            data={"count": count},
            base_url="https://c.example/",
        )
        values: list[str] = []
        variables = {**ctx.variables(), VALUES_KEY: values}
        try:
            return "ok", render(variables), values  # type: ignore[operator]
        except jinja2.UndefinedError as exc:
            return "undefined", exc.message, values

    if direct is not None:
        assert outcome(direct) == outcome(jinja)


def test_the_catalog_templates_are_rendered_directly() -> None:
    """The built-in templates (greeting, lookups, tests, filters) take the direct path, not
    only toy ones; only loops and ``join`` need Jinja."""
    for spec in BUILTIN_EVENT_TYPES:
        for source in (spec.title_template, spec.body_template):
            direct = _direct("markdown", source)
            assert (direct is None) == ("{% for" in source or "| join" in source), source
