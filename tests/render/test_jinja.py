"""The undocumented parts of Jinja that clarion.render._jinja relies on are still there."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest
from jinja2 import pass_context, pass_environment
from jinja2.runtime import Context

from clarion.render._jinja import MessageUndefined, render_pieces, takes_context_or_environment


def test_pass_markers_are_read_from_jinjas_private_flag() -> None:
    from jinja2.utils import _PassArg  # the private flag the helper reads

    @pass_context
    def with_context(context: Context, value: Any) -> Any:
        return value

    @pass_environment
    def with_environment(environment: jinja2.Environment, value: Any) -> Any:
        return value

    assert _PassArg.from_obj(with_context) is _PassArg.context
    assert takes_context_or_environment(with_context)
    assert takes_context_or_environment(with_environment)
    assert not takes_context_or_environment(str.upper)
    # Every built-in filter Jinja marks is seen as marked (the bounded filters skip its arg).
    env = jinja2.Environment()
    assert takes_context_or_environment(env.filters["map"])
    assert not takes_context_or_environment(env.filters["upper"])


def test_a_template_renders_from_a_shared_context_with_root_render_func() -> None:
    assert callable(getattr(jinja2.Template, "new_context", None))
    env = jinja2.Environment()
    template = env.from_string("{{ greeting }}, {{ range(2) | list }}")
    assert callable(template.root_render_func)
    variables = {**env.globals, "greeting": "hi"}
    assert "".join(render_pieces(template, variables)) == template.render(greeting="hi")


def test_the_undefined_message_is_the_property_jinja_reads() -> None:
    assert isinstance(vars(jinja2.Undefined).get("_undefined_message"), property)

    class Named(MessageUndefined):
        def message(self, owner: Any, name: str | None, hint: str | None) -> str | None:
            return f"{name} (of {type(owner).__name__}) is missing" if name != "x" else None

    env = jinja2.Environment(undefined=Named)
    with pytest.raises(jinja2.UndefinedError, match=r"^key \(of dict\) is missing$"):
        env.from_string("{{ d.key }}").render(d={})
    with pytest.raises(jinja2.UndefinedError, match="'x' is undefined"):  # Jinja's own
        env.from_string("{{ x }}").render()
