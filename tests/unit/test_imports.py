"""The package's import graph has no cycle: each module's imports, read from its source with ast
(imports inside functions included, since a late import only hides a circle)."""

from __future__ import annotations

import ast
from pathlib import Path

import credit_monitor

PACKAGE = Path(credit_monitor.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            graph[name] |= {target for target in targets if target in modules and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle once, as the path found by a depth-first search."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            found.append([*path[path.index(node) :], node])
            return
        if node in done:
            return
        for target in sorted(graph[node]):
            visit(target, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return found


def test_the_graph_is_read_from_the_sources() -> None:
    graph = import_graph()
    assert "credit_monitor.alerting" in graph["credit_monitor.service"]
    assert "credit_monitor.providers" in graph["credit_monitor.config"]


def test_no_module_imports_itself_through_others() -> None:
    graph = {
        name: targets - {name.rpartition(".")[0]}  # a package's own __init__ is imported first anyway
        for name, targets in import_graph().items()
    }
    assert cycles(graph) == []
