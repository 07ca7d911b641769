"""The parts of Jinja clarion uses that Jinja does not document, in one place.

Each is checked by ``tests/render/test_jinja.py``, so a Jinja upgrade that changes one fails
there, by name, rather than as a wrong message or a skipped bound somewhere in rendering.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jinja2
from jinja2 import StrictUndefined
from jinja2.utils import _PassArg


def takes_context_or_environment(function: Callable[..., Any]) -> bool:
    """Whether Jinja passes ``function`` its context, eval context or environment first
    (``pass_context`` and its siblings): its own arguments start one later."""
    return _PassArg.from_obj(function) is not None


def render_pieces(template: jinja2.Template, variables: dict[str, Any]) -> Iterator[str]:
    """What ``template.generate(variables)`` yields, with ``variables`` (globals merged in
    by the caller) as the context itself: ``generate`` would copy them and merge the
    globals again, through a ChainMap, on every render."""
    context = template.new_context(variables, shared=True)
    return template.root_render_func(context)


class MessageUndefined(StrictUndefined):
    """Strict, with the error message :meth:`message` gives (None: Jinja's own)."""

    def message(self, owner: Any, name: str | None, hint: str | None) -> str | None:
        return None

    @property
    def _undefined_message(self) -> str:  # what Jinja's UndefinedError says
        found = self.message(self._undefined_obj, self._undefined_name, self._undefined_hint)
        return found if found is not None else str(super()._undefined_message)
