"""Every module a docstring, comment, message or README names is one that imports.

Scanned: the strings and comments of every .py file, and the Markdown files and the Makefile of
the repository's own folders. Three rules:

- `python -m <module>` (or `accelerate launch ... -m <module>`): an importable module, or a
  package with a `__main__`;
- the recipes are named by their installed names, `qrtse.training.<module>` /
  `qrtse.hub.<module>`, never by their folder names (`training.<module>` does not import: there
  is no top-level `training` once installed);
- a dotted name rooted at `qrtse.` or `modeling_qrtse.` names modules that exist down to its
  first non-module part, which must then be a name the last module defines.
"""

import importlib.util
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("modeling_qrtse", "training", "hub", "spaces", "benchmarks", "tests")
TOP_LEVEL_TEXT = ("README.md", "Makefile")
# The repository folder each installed recipe name lives in.
RECIPES = {"training": ROOT / "training", "hub": ROOT / "hub"}

RUN_MODULE = re.compile(r"\b(?:python3?|accelerate\s+launch)\b[^\n`|;&]*?\s-m\s+([A-Za-z_][\w.]*)")
# A dotted name not preceded by a word character, a dot, a slash or a hyphen (file paths such as
# tests/hub/local_hub.py, attribute chains such as local_hub.endpoint are not module names).
DOTTED = re.compile(r"(?<![\w./-])((?:qrtse|modeling_qrtse|training|hub)(?:\.[A-Za-z_]\w*)+)")
FILE_SUFFIXES = {"py", "json", "md", "txt", "toml", "wav", "flac", "onnx", "png", "safetensors", "bin", "npy", "cfg"}


def text_files():
    for folder in FOLDERS:
        yield from sorted((ROOT / folder).rglob("*.py"))
        yield from sorted((ROOT / folder).rglob("*.md"))
    for name in TOP_LEVEL_TEXT:
        yield ROOT / name


def prose(path: Path) -> str:
    """What a reader reads in `path`: a .py file's strings and comments, any other file whole.
    Shell line continuations are joined so that a command reads as one line."""
    text = path.read_text()
    if path.suffix == ".py":
        kinds = {tokenize.STRING, tokenize.COMMENT, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
        tokens = tokenize.generate_tokens(io.StringIO(text).readline)
        text = "\n".join(token.string for token in tokens if token.type in kinds)
    return text.replace("\\\n", " ")


def mentions():
    """`(where, kind, name)` for every module mention in the scanned files."""
    for path in text_files():
        where = str(path.relative_to(ROOT))
        text = prose(path)
        for match in RUN_MODULE.finditer(text):
            yield where, "run", match.group(1).rstrip(".")
        for match in DOTTED.finditer(text):
            yield where, "dotted", match.group(1)


MENTIONS = sorted(set(mentions()))


def recipe_modules(folder: Path) -> set:
    return {p.stem for p in folder.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in folder.iterdir() if (p / "__init__.py").is_file()
    }


def defines(module_spec, name: str) -> bool:
    """Whether a module's source defines or imports `name` (read, not imported)."""
    source = Path(module_spec.origin).read_text() if module_spec.origin else ""
    return re.search(rf"\b{re.escape(name)}\b", source) is not None


def unresolved(dotted: str):
    """Why `dotted` (rooted at qrtse or modeling_qrtse) names no module, or None."""
    parts = dotted.split(".")
    if parts[-1] in FILE_SUFFIXES:  # a file name such as modeling_qrtse.py
        return None
    spec = importlib.util.find_spec(parts[0])
    for index in range(1, len(parts)):
        name = ".".join(parts[: index + 1])
        if spec.submodule_search_locations is None:
            # A module, not a package: the rest is an attribute chain, its first name defined there.
            return None if defines(spec, parts[index]) else f"{parts[index]} is not in {spec.name}"
        child = importlib.util.find_spec(name)
        if child is None:
            return None if defines(spec, parts[index]) else f"{name} does not import"
        spec = child
    return None


def test_the_scan_finds_what_it_looks_for():
    # Guards the scan itself: these are named in the README today.
    assert ("README.md", "run", "qrtse.training.train") in MENTIONS
    assert ("README.md", "dotted", "qrtse.training.metrics") in MENTIONS
    assert ("README.md", "run", "benchmarks.inference") in MENTIONS


@pytest.mark.parametrize(
    "where, name", sorted({(where, name) for where, kind, name in MENTIONS if kind == "run"}), ids=str
)
def test_every_python_m_command_names_a_runnable_module(where, name):
    spec = importlib.util.find_spec(name)
    assert spec is not None, f"{where}: `python -m {name}` names no module"
    if spec.submodule_search_locations is not None:
        assert importlib.util.find_spec(f"{name}.__main__") is not None, f"{where}: package {name} has no __main__"


def test_recipes_are_named_by_their_installed_names():
    offending = sorted(
        f"{where}: {name} (write qrtse.{name})"
        for where, _, name in MENTIONS
        if name.split(".")[0] in RECIPES and name.split(".")[1] in recipe_modules(RECIPES[name.split(".")[0]])
    )
    assert not offending, "\n".join(offending)


def test_every_dotted_module_name_resolves():
    names = sorted(
        {(where, name) for where, kind, name in MENTIONS if name.split(".")[0] in ("qrtse", "modeling_qrtse")}
    )
    offending = [f"{where}: {name}: {why}" for where, name in names if (why := unresolved(name))]
    assert not offending, "\n".join(offending)
