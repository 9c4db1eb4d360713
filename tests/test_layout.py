"""The package's layout: only the entry points and shared bits directly in scoring/, the rest in the
subpackages (rules, inputs, outputs, runs, views), and no import cycle between any two modules.

The import graph is read from the source with ``ast``: every ``import`` and ``from ... import``
statement counts, also the ones inside functions (a lazy import that closes a cycle still ties the
two modules together).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "scoring"
TOP_LEVEL = {"__init__.py", "__main__.py", "cli.py", "exceptions.py", "labels.py"}


def modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package by its dotted name: (file, whether it is a package's __init__)."""
    found: dict[str, tuple[Path, bool]] = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        parts = list(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (f, is_package)
    return found


def typing_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:`` (of ``tree``, while it is alive)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """(module -> the package's modules it imports, imports of the package that name no module)."""
    mods = modules()
    graph: dict[str, set[str]] = {name: set() for name in mods}
    unresolved: list[str] = []
    for name, (path, is_package) in mods.items():
        here = name if is_package else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        skipped = typing_only(tree)  # for the type checker, never imported at run time
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")
                    base = base[: len(base) - (node.level - 1)] + ([node.module] if node.module else [])
                    module = ".".join(base)
                else:
                    module = node.module or ""
                # "from . import environment" imports a module, "from .. import __version__" a name
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in mods else module for a in node.names]
            else:
                continue
            for target in targets:
                if target != "scoring" and not target.startswith("scoring."):
                    continue
                if target not in mods:
                    unresolved.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {target}")
                    continue
                graph[name].add(target)
    return graph, unresolved


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: strongly connected components (Tarjan) of more than one module, or a
    module that imports itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_modules() -> None:
    graph, unresolved = import_graph()
    assert not unresolved, "imports that name no module of the package:\n" + "\n".join(unresolved)
    assert sum(len(edges) for edges in graph.values()) > len(graph), "the import graph looks empty"
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"], ["e"]]


def test_only_entry_points_and_shared_modules_directly_in_the_package() -> None:
    top = {p.name for p in PACKAGE.glob("*.py")}
    assert top <= TOP_LEVEL, f"modules directly in scoring/ that belong in a subpackage: {sorted(top - TOP_LEVEL)}"
    for folder in sorted({p.parent for p in PACKAGE.rglob("*.py")}):
        assert (folder / "__init__.py").is_file(), f"{folder.relative_to(PACKAGE.parent)} has no __init__.py"
