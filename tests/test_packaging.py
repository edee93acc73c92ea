"""The installed package: its import names, and the direction of imports between its parts."""

import ast
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPE_PACKAGES = ("training", "hub", "spaces", "benchmarks", "qrtse")
# PyPI projects whose import names a careless wheel would shadow: Hugging Face's `spaces` (what
# GPU Spaces import) and Activeloop's `hub`.
NEIGHBOURS = ("spaces==0.51.3", "hub==3.0.1")


def imported_modules(path: Path):
    """`(line, absolute module name)` of every import in a source file (relative ones skipped)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.lineno, node.module


def python_files(*folders):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_the_library_never_imports_the_recipes():
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in python_files("modeling_qrtse")
        for line, name in imported_modules(path)
        if name.split(".")[0] in RECIPE_PACKAGES
    ]
    assert not offending, "the library must not depend on training, hub, spaces or benchmarks:\n" + "\n".join(offending)


def test_recipes_import_each_other_by_their_installed_names():
    # `training` and `hub` exist only as qrtse.training / qrtse.hub once installed; importing
    # them by their folder names would also load a second copy of every module.
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in python_files("training", "hub", "benchmarks", "spaces", "tests")
        for line, name in imported_modules(path)
        if name.split(".")[0] in ("training", "hub")
    ]
    assert not offending, "\n".join(offending)


def _file_hashes(site_packages: Path, package: str) -> dict:
    return {
        str(path.relative_to(site_packages)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((site_packages / package).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def _run(*command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


@pytest.mark.slow
def test_wheel_installs_only_its_own_names_next_to_pypi_spaces_and_hub(tmp_path):
    # Built from a copy: setuptools writes build/ and *.egg-info into the source tree.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "data", "runs", "outputs", "logs", "build"))
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(source), "-w", tmp_path)
    (wheel,) = tmp_path.glob("qrtse-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"modeling_qrtse", "qrtse"}
    for checkpoint in ("default_model", "causal_model"):  # the embedded models work offline, installed
        for file in ("config.json", "model.safetensors", "preprocessor_config.json"):
            assert f"modeling_qrtse/{checkpoint}/{file}" in names

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    pip = (python, "-m", "pip", "install", "-q", "--no-deps")
    _run(*pip, *NEIGHBOURS)
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    before = {package: _file_hashes(site, package) for package in ("spaces", "hub")}
    _run(*pip, wheel)
    assert {package: _file_hashes(site, package) for package in ("spaces", "hub")} == before

    # Dependencies (torch, gradio, ...) come from this interpreter's site-packages, after the new
    # venv's own; `hub` imports Activeloop's deeplake, a 300 MB install: an empty stand-in lets
    # its one-line __init__ run.
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (tmp_path / "stubs").mkdir()
    (tmp_path / "stubs" / "deeplake.py").write_text("")
    names = ("hub", "spaces", "modeling_qrtse", "qrtse", "qrtse.training.train", "qrtse.hub.push_model")
    probe = (
        "import importlib, importlib.util\n"
        f"for name in {names!r}:\n"
        "    print(name, importlib.util.find_spec(name).origin)\n"
        "    importlib.import_module(name)\n"
        "print('GPU' in dir(importlib.import_module('spaces')))\n"
        "import qrtse; qrtse.QrtseModel, qrtse.extract_long_form\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(tmp_path / "stubs")}
    lines = _run(python, "-c", probe, cwd=tmp_path, env=environment).stdout.splitlines()
    origins = dict(line.split(" ", 1) for line in lines[:-1])
    assert all(Path(origin).is_relative_to(site) for origin in origins.values()), origins
    assert origins["hub"] == str(site / "hub" / "__init__.py")
    assert origins["spaces"] == str(site / "spaces" / "__init__.py")
    assert lines[-1] == "True"  # Hugging Face's `spaces.GPU` is there
