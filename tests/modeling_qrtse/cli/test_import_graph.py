"""The CLI subpackage has no import circle (issue 30): read from the source, every import counted,
at module level or inside a function."""

import ast
from pathlib import Path

import modeling_qrtse.cli

PACKAGE = "modeling_qrtse.cli"
FOLDER = Path(modeling_qrtse.cli.__file__).parent


def imported_modules(path: Path) -> set:
    """The `modeling_qrtse.cli` modules that `path` imports (absolute or relative)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level in (0, 1):  # level 1: a sibling in cli/
            base = ".".join(filter(None, [PACKAGE if node.level else None, node.module]))
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return names


def import_graph() -> dict:
    modules = {f"{PACKAGE}.{path.stem}": path for path in FOLDER.glob("*.py") if path.stem != "__init__"}
    return {name: imported_modules(path) & set(modules) - {name} for name, path in modules.items()}


def find_circle(graph: dict) -> list | None:
    state = {}

    def visit(name, trail):
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                return [*trail[trail.index(target) :], target] if target in trail else [name, target]
            if target not in state and (circle := visit(target, [*trail, target])):
                return circle
        state[name] = "done"
        return None

    for name in sorted(graph):
        if name not in state and (circle := visit(name, [name])):
            return circle
    return None


def test_the_cli_has_no_import_circle():
    graph = import_graph()
    assert {f"{PACKAGE}.extract", f"{PACKAGE}.driver", f"{PACKAGE}.output_files"} <= set(graph)
    assert f"{PACKAGE}.driver" in graph[f"{PACKAGE}.extract"]  # the graph sees the imports
    assert find_circle(graph) is None, " -> ".join(find_circle(graph))


def test_a_circle_would_be_found():
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b"}, "b": set()}) is None
