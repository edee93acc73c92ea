"""The README's "Where things are" map matches the repository's folders."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Made by the commands (git-ignored) or by tools, never committed: the map may name them, the
# checkout need not have them.
MADE_LOCALLY = {"data", "runs", "outputs", "build", "dist", "logs"}


def map_rows() -> list:
    section = ROOT.joinpath("README.md").read_text().split("## Where things are", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| `")]


def folders_named(row: str) -> list:
    first_cell = row.split("|")[1]
    return [name.rstrip("/") for name in re.findall(r"`([^`]+/)`", first_cell)]


def test_every_folder_in_the_map_exists():
    missing = [
        name
        for row in map_rows()
        for name in folders_named(row)
        if name not in MADE_LOCALLY and not (ROOT / name).is_dir()
    ]
    assert map_rows() and not missing, missing


def test_every_top_level_folder_is_in_the_map():
    named = {name for row in map_rows() for name in folders_named(row)}
    top_level = {
        path.name
        for path in ROOT.iterdir()
        if path.is_dir()
        and (not path.name.startswith(".") or path.name == ".ci")
        and path.name not in MADE_LOCALLY
        and not path.name.endswith(".egg-info")
        and path.name != "__pycache__"
    }
    assert top_level <= named, sorted(top_level - named)
