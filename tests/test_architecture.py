"""The source tree's shape, checked: SQL stays in the store, packages do not import each
other in a circle, and the API and the pages are built apart, side by side."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "clarion"


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, at any depth of its code (TYPE_CHECKING included)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            out.add(module)
            out.update(f"{module}.{alias.name}" for alias in node.names)
    return out


def _package(module: str) -> str:
    """clarion.store.queue -> clarion.store; clarion.service -> clarion.service."""
    parts = module.split(".")
    return ".".join(parts[:2])


MODULES = _modules()
IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def test_sqlalchemy_is_imported_only_in_the_store() -> None:
    outside = sorted(
        name
        for name, imported in IMPORTS.items()
        if not name.startswith("clarion.store")
        and any(i == "sqlalchemy" or i.startswith("sqlalchemy.") for i in imported)
    )
    assert outside == [], f"SQL belongs in clarion.store; these import sqlalchemy: {outside}"


def test_packages_do_not_import_each_other_in_a_circle() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for name, imported in IMPORTS.items():
        for target in imported:
            if target.startswith("clarion."):
                mine, theirs = _package(name), _package(target)
                if mine != theirs and theirs in {_package(m) for m in MODULES}:
                    graph[mine].add(theirs)
    cycles = []
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in sorted(graph[node]):
                if nxt == start:
                    cycles.append(" -> ".join([*trail, nxt]))
                elif nxt not in trail and nxt > start:
                    stack.append((nxt, [*trail, nxt]))
    assert cycles == [], "package-level import cycles:\n" + "\n".join(cycles)


def test_the_api_and_the_pages_do_not_import_each_other() -> None:
    crossing = sorted(
        f"{name} imports {target}"
        for name, imported in IMPORTS.items()
        for target in imported
        if (name.startswith("clarion.api") and target.startswith("clarion.web"))
        or (name.startswith("clarion.web") and target.startswith("clarion.api"))
    )
    assert crossing == [], "\n".join(crossing)


def test_the_checks_see_the_tree() -> None:
    """The walk found the packages it judges (a moved tree would pass every check empty)."""
    packages = {_package(m) for m in MODULES}
    assert {"clarion.store", "clarion.api", "clarion.web", "clarion.intake"} <= packages
    assert any("sqlalchemy" in i for i in IMPORTS["clarion.store.db"])
