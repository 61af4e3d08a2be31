"""No import cycle inside ``loyalist``: the module-level imports of ``src/loyalist`` form a directed acyclic graph.

The scan reads the source (AST), so it sees what a reader sees: every ``import`` / ``from ... import`` at module
level, including those under ``if TYPE_CHECKING:`` (a cycle hidden from the interpreter is still a circle for the
reader, a type checker and the next refactoring) and inside ``try`` / ``if`` blocks. Imports inside functions are
left out: they run on call, after every module has loaded. ``from pkg import name`` counts as an import of the
sub-module ``pkg.name`` when that module exists, else of ``pkg`` itself (its ``__init__``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def _modules(src: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package ``__init__``) for every ``.py`` under ``src/loyalist``."""
    out: dict[str, tuple[Path, bool]] = {}
    for path in sorted((src / "loyalist").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def _module_level_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            found += _module_level_imports(node.body) + _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            found += _module_level_imports(node.body) + _module_level_imports(node.orelse)
            found += _module_level_imports(node.finalbody)
            for handler in node.handlers:
                found += _module_level_imports(handler.body)
    return found


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Module -> the ``loyalist`` modules it imports at module level."""
    modules = _modules(src)
    graph: dict[str, set[str]] = {}
    for name, (path, is_pkg) in modules.items():
        package = name if is_pkg else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in _module_level_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                deps.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
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
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_scan_finds_the_package_and_its_imports() -> None:
    graph = import_graph()
    assert len(graph) > 50
    assert "loyalist.errors" in graph["loyalist.data.synthetic"]
    assert "loyalist.tracking.pyfunc" in graph["loyalist.tracking.registry"]


def test_the_scan_reports_a_cycle_through_type_checking_and_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "loyalist" / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / "loyalist" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from loyalist.sub.b import B\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\n")
    (pkg / "c.py").write_text("def f():\n    from loyalist.sub import a\n")
    assert cycles(import_graph(tmp_path)) == [["loyalist.sub.a", "loyalist.sub.b"]]


def test_no_import_cycle_in_loyalist() -> None:
    found = cycles(import_graph())
    if found:
        pytest.fail("Import cycles in src/loyalist (break each by moving the shared name to a module both can "
                    "import): " + "; ".join(" <-> ".join(c) for c in found))
