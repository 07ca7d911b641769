"""Templates run as Python closures, without Jinja, when they are simple enough.

Most templates are text, ``{{ labels.name }}``-style lookups, a few filters (``upper``,
``default``) and ``{% if a or b %}`` / ``is defined`` around them. Those run here as plain
Python closures, with no Jinja context to build: a quarter of an event's rendering cost.
They print what Jinja prints: the same values through the same ``finalize`` hook, and a
missing value fails with the same message (the environment's ``undefined``) wherever Jinja
would use it (printed, tested or filtered), since that is where it is looked up here.
Anything else (loops, ``join``, method calls) is left to Jinja: :func:`compile_direct`
answers None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment, nodes

Variables = Mapping[str, Any]
# A template's renderer: its variables in, its text out.
Renderer = Callable[[Variables], str]
# What prints a value (Jinja's ``finalize``), given the variables too.
Finalize = Callable[[Variables, Any], str]

_Expression = Callable[[Variables], Any]
_Step = Callable[[Variables, list[str]], None]
# The variables whose keys a template may look up.
_KEYED = frozenset({"labels", "data"})
# Filters that print a function of their value and so, like printing, fail on a missing one.
_STRICT_FILTERS = frozenset({"upper", "lower", "title", "capitalize", "trim", "string"})


class _Unsupported(Exception):
    """The template uses something only Jinja runs."""


def compile_direct(
    tree: nodes.Template, env: Environment, names: frozenset[str], finalize: Finalize
) -> Renderer | None:
    """``tree`` (parsed by ``env``, using the variables ``names``) as a closure, or None
    when it needs Jinja."""
    try:
        steps = _Compiler(env, names, finalize).steps(tree.body)
    except _Unsupported:
        return None

    def render(variables: Variables) -> str:
        out: list[str] = []
        for step in steps:
            step(variables, out)
        return "".join(out)

    return render


class _Compiler:
    def __init__(self, env: Environment, names: frozenset[str], finalize: Finalize):
        self.env = env
        self.names = names
        self.finalize = finalize

    def steps(self, body: list[nodes.Node]) -> list[_Step]:
        steps: list[_Step] = []
        for statement in body:
            if isinstance(statement, nodes.Output):
                steps.extend(self.output(node) for node in statement.nodes)
            elif isinstance(statement, nodes.If):
                steps.append(self.branch(statement))
            else:
                raise _Unsupported
        return steps

    def output(self, node: nodes.Node) -> _Step:
        if isinstance(node, nodes.TemplateData):
            text = node.data
            return lambda _, out: out.append(text)
        value, finalize = self.expression(node), self.finalize
        return lambda variables, out: out.append(finalize(variables, value(variables)))

    def branch(self, statement: nodes.If) -> _Step:
        branches = [(self.expression(statement.test), self.steps(statement.body))]
        branches += [(self.expression(b.test), self.steps(b.body)) for b in statement.elif_]
        otherwise = self.steps(statement.else_)

        def step(variables: Variables, out: list[str]) -> None:
            chosen = next((steps for test, steps in branches if test(variables)), otherwise)
            for inner in chosen:
                inner(variables, out)

        return step

    def expression(self, node: nodes.Node) -> _Expression:
        if isinstance(node, nodes.Or):
            left, right = self.expression(node.left), self.expression(node.right)
            return lambda variables: left(variables) or right(variables)
        if isinstance(node, nodes.And):
            left, right = self.expression(node.left), self.expression(node.right)
            return lambda variables: left(variables) and right(variables)
        if isinstance(node, nodes.Not):
            operand = self.expression(node.node)
            return lambda variables: not operand(variables)
        if isinstance(node, nodes.Test) and node.name == "defined" and _no_arguments(node):
            return _presence(*self.path(node.node))
        if isinstance(node, nodes.Filter):
            return self.filtered(node)
        return self.lookup(*self.path(node))

    def filtered(self, node: nodes.Filter) -> _Expression:
        if node.node is None or node.kwargs or node.dyn_args or node.dyn_kwargs:
            raise _Unsupported
        args = [arg.value for arg in node.args if isinstance(arg, nodes.Const)]
        if len(args) < len(node.args):  # an argument that is not a constant
            raise _Unsupported
        if node.name in ("default", "d") and len(args) == 1:  # the value, or this if missing
            name, key = self.path(node.node)
            fallback = args[0]
            if key is None:
                return lambda variables: variables.get(name, fallback)
            return lambda variables: variables[name].get(key, fallback)
        if node.name not in _STRICT_FILTERS and node.name != "code_block":
            raise _Unsupported
        function = self.env.filters[node.name]
        value = self.expression(node.node)
        return lambda variables: function(value(variables), *args)

    def path(self, node: nodes.Node) -> tuple[str, str | None]:
        """A template variable, or ``labels.x`` / ``labels["x"]`` (likewise ``data``) as
        (variable, key); not when ``x`` could also name a dict method or a private
        attribute, which Jinja's lookup would find first."""
        if isinstance(node, nodes.Name) and node.name in self.names:
            return node.name, None
        if isinstance(node, nodes.Getattr):
            owner, key = node.node, node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            owner, key = node.node, node.arg.value
        else:
            raise _Unsupported
        if not (isinstance(owner, nodes.Name) and owner.name in _KEYED and isinstance(key, str)):
            raise _Unsupported
        if key.startswith("_") or hasattr(dict, key):
            raise _Unsupported
        return owner.name, key

    def lookup(self, name: str, key: str | None) -> _Expression:
        undefined = self.env.undefined

        def value(variables: Variables) -> Any:
            try:
                owner = variables[name]
            except KeyError:
                undefined(name=name)._fail_with_undefined_error()
            if key is None:
                return owner
            try:
                return owner[key]
            except KeyError:
                undefined(obj=owner, name=key)._fail_with_undefined_error()

        return value


def _no_arguments(node: nodes.Test) -> bool:
    return not (node.args or node.kwargs or node.dyn_args or node.dyn_kwargs)


def _presence(name: str, key: str | None) -> _Expression:
    if key is None:
        return lambda variables: name in variables
    return lambda variables: key in variables[name]
