"""No import circle anywhere in the installed tree (issue 30): the library (`modeling_qrtse`, its
CLI and kernels) and the recipes (`qrtse.training`, `qrtse.hub`), read from the source, every
import counted, at module level or inside a function."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Repository folder -> the package it installs as (pyproject.toml's package-dir).
ROOMS = {"modeling_qrtse": "modeling_qrtse", "training": "qrtse.training", "hub": "qrtse.hub"}


def module_names() -> dict:
    """Every module of the rooms: dotted name -> source path (a package is its `__init__`)."""
    modules = {}
    for folder, package in ROOMS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = [part for part in path.relative_to(ROOT / folder).with_suffix("").parts if part != "__init__"]
            modules[".".join([package, *parts])] = path
    return modules


def imported_modules(name: str, path: Path, modules: dict) -> set:
    """The tree's modules that `name` imports: `from X import y` counts y when y is a module,
    else X; a relative import is resolved from `name`'s package."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            source = ".".join([*base, *([node.module] if node.module else [])])
            submodules = {f"{source}.{alias.name}" for alias in node.names} & set(modules)
            found |= submodules if len(submodules) == len(node.names) else {source} | submodules
    return found & set(modules) - {name}


def import_graph() -> dict:
    modules = module_names()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


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


def test_the_tree_has_no_import_circle():
    graph = import_graph()
    assert {"modeling_qrtse.cli.extract", "modeling_qrtse.kernels.gemm", "qrtse.training.train"} <= set(graph)
    assert "modeling_qrtse.cli.driver" in graph["modeling_qrtse.cli.extract"]  # the graph sees the imports
    assert "qrtse.training.scoring" in graph["qrtse.training.evaluate"]  # relative ones too
    assert find_circle(graph) is None, " -> ".join(find_circle(graph))


def test_the_library_imports_no_recipe():
    graph = import_graph()
    library = [name for name in graph if name.startswith("modeling_qrtse")]
    assert all(not target.startswith("qrtse.") for name in library for target in graph[name])


def test_a_circle_would_be_found():
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b"}, "b": set()}) is None
