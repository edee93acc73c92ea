"""The reviewable labelling rules of the real-recordings corpus (`manifest.toml`), loaded and
checked: every field known, every label a class of FSDKaggle2018 (or "background"), every rule's
package pinned in a `[[package]]` entry and none of them reserved for independent evaluation."""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from modeling_qrtse.configuration_qrtse import FSD_KAGGLE_2018_LABELS

from .packages import check_not_reserved

MANIFEST_PATH = Path(__file__).with_name("manifest.toml")
BACKGROUND_LABEL = "background"
SEGMENTS = ("whole", "windows", "calls", "patch")
GROUPS = ("file", "folder")
OPTIONAL_RULE_FIELDS = {"exclude", "segment", "group", "licence", "window_s", "note_s"}


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    licence: str


@dataclass(frozen=True)
class Rule:
    """One labelling rule: files of `package` matching `patterns` (minus `excludes`) are `label`."""

    label: str
    package: str
    patterns: tuple
    excludes: tuple = ()
    segment: str = "whole"
    group: str = "file"
    licence: str | None = None
    window_s: float = 3.0
    note_s: float = 1.5

    @property
    def is_background(self) -> bool:
        return self.label == BACKGROUND_LABEL


@dataclass(frozen=True)
class Manifest:
    packages: dict
    rules: tuple

    def licence_of(self, rule: Rule) -> str:
        return rule.licence or self.packages[rule.package].licence


def as_tuple(value) -> tuple:
    return (value,) if isinstance(value, str) else tuple(value)


def load_manifest(path=MANIFEST_PATH) -> Manifest:
    """The manifest at `path`; ValueError naming the entry for anything malformed."""
    data = tomllib.loads(Path(path).read_text())
    packages = {}
    for entry in data.get("package", []):
        check_fields(entry, {"name", "version", "licence"}, f"[[package]] {entry.get('name')!r}")
        check_not_reserved(entry["name"])
        packages[entry["name"]] = Package(entry["name"], entry["version"], entry["licence"])
    rules = []
    for index, entry in enumerate(data.get("rule", [])):
        where = f"rule {index + 1} ({entry.get('label')!r}, {entry.get('package')!r})"
        check_fields(entry, {"label", "package", "pattern"}, where, optional=OPTIONAL_RULE_FIELDS)
        rule = Rule(
            label=entry["label"],
            package=entry["package"],
            patterns=as_tuple(entry["pattern"]),
            excludes=as_tuple(entry.get("exclude", ())),
            segment=entry.get("segment", "whole"),
            group=entry.get("group", "file"),
            licence=entry.get("licence"),
            window_s=float(entry.get("window_s", 3.0)),
            note_s=float(entry.get("note_s", 1.5)),
        )
        if rule.package not in packages:
            raise ValueError(f"{where}: package {rule.package!r} has no [[package]] entry with its version")
        if rule.label != BACKGROUND_LABEL and rule.label not in FSD_KAGGLE_2018_LABELS:
            raise ValueError(f"{where}: {rule.label!r} is not an FSDKaggle2018 class nor 'background'")
        if rule.segment not in SEGMENTS:
            raise ValueError(f"{where}: segment must be one of {SEGMENTS}, got {rule.segment!r}")
        if rule.group not in GROUPS:
            raise ValueError(f"{where}: group must be one of {GROUPS}, got {rule.group!r}")
        if rule.window_s <= 0 or rule.note_s <= 0:
            raise ValueError(f"{where}: window_s and note_s must be positive")
        rules.append(rule)
    return Manifest(packages, tuple(rules))


def check_fields(entry: dict, required: set, where: str, optional: set = frozenset()):
    missing = required - set(entry)
    unknown = set(entry) - required - set(optional)
    if missing or unknown:
        problems = [f"missing {sorted(missing)}"] if missing else []
        problems += [f"unknown {sorted(unknown)}"] if unknown else []
        raise ValueError(f"{where}: {'; '.join(problems)}")
