"""The package's import graph, read from the source (AST): no cycle, and none hidden.

Issue 11: services/ was one import cycle of ten modules, broken at import time only by
imports placed inside functions and under TYPE_CHECKING. Both count here: an import
inside a function or an `if TYPE_CHECKING:` block is an edge like any other, and an
import of the package's own modules inside a function is refused outright.
"""

from __future__ import annotations

import ast
from pathlib import Path

import dispatch_server

ROOT = Path(dispatch_server.__file__).parent
PACKAGE = "dispatch_server"


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = (PACKAGE, *path.relative_to(ROOT).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _targets(node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> set[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        names = [base, *(f"{base}.{a.name}" for a in node.names)]
    return {n for n in names if n in modules}


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    modules = _modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    inside_functions: list[str] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(func):
                    if isinstance(node, ast.Import | ast.ImportFrom) and _targets(node, modules):
                        inside_functions.append(f"{name}:{node.lineno}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges[name] |= _targets(node, modules) - {name}
    return edges, inside_functions


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle, as the path around it, or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle() -> None:
    edges, _ = _graph()
    assert len(edges) > 60, "the walk found the package"
    cycle = _cycle(edges)
    assert cycle is None, " -> ".join(cycle or [])


def test_no_import_of_the_package_sits_inside_a_function() -> None:
    _, inside = _graph()
    assert inside == [], f"imports inside functions (move them to the top): {inside}"


def test_the_checker_finds_a_cycle_when_there_is_one() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(edges) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_context_knows_no_service_and_only_the_runtime_starts_them() -> None:
    """Services import the context; the context imports only what it holds (auth, the
    duty log, leadership, the metrics), never a service that acts; the runtime is what
    wires them."""
    edges, _ = _graph()
    held = {f"{PACKAGE}.services.{m}" for m in ("auth", "duty_log", "leader", "metrics")}
    services = {t for t in edges[f"{PACKAGE}.services.context"] if ".services." in t}
    assert services <= held, services - held
    importers = {m for m, targets in edges.items() if f"{PACKAGE}.runtime" in targets}
    assert importers <= {f"{PACKAGE}.app"}, importers
