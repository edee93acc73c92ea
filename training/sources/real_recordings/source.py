"""The real-recordings corpus as a clip source: manifest rules -> files -> clips -> splits.

Splits are by recording, never by clip: the unit kept together is a file, or a folder (one drum
kit, one voice) where the rule says `group = "folder"`. Per class, the package with the most files
is the main one; held out are every unit of the other packages and every third unit of the main
package when it has at least 6 (so drum classes test on other kits too), alternately for test and validation. So no
validation or test clip comes from a file (or kit) heard in training, and where a class has
several packages, its held-out clips include all of the other packages. Validation and test
share a unit only where a class has a single held-out unit (its clips then alternate between
them, `clip_split`); a class with one unit only trains.
The same recording shipped by two packages (found by waveform correlation, `duplicates`) is kept
once, where it is first found.
"""

import fnmatch
import functools
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from modeling_qrtse.configuration_qrtse import FSD_KAGGLE_2018_LABELS

from ...clip_pool import BACKGROUND, FOREGROUND
from ..base import Clip, ClipSource, check_split
from .duplicates import same_recording
from .manifest import BACKGROUND_LABEL, load_manifest
from .packages import DebianCache
from .segments import file_clips

logger = logging.getLogger(__name__)

MIN_UNITS_TO_SHARE = 6


@dataclass
class LabelledFile:
    label: str
    package: str
    relative_path: str
    path: Path
    unit: str
    licence: str
    clips: list


class RealRecordingsSource(ClipSource):
    """Clips of real recordings from the Debian packages named in `manifest.toml`.

    Args:
        cache (`DebianCache`, *optional*): where packages are unpacked (fetched on first use).
        manifest (`Manifest`, *optional*): the labelling rules (defaults to the shipped one).
        strict (`bool`, defaults to True): a rule whose package is present but which matches no
            file raises (a renamed file must not silently shrink a class).
    """

    name = "real"
    audio_redistributable = True

    def __init__(self, cache: DebianCache | None = None, manifest=None, strict: bool = True):
        self.cache = cache or DebianCache()
        self.manifest = manifest or load_manifest()
        self.strict = strict
        self.left_out = {}  # package -> why it is missing
        self.duplicates = []  # (kept clip id, dropped clip id)
        self.files = self._resolve()
        self._split_of_unit = self._assign_splits()
        labels = {f.label for f in self.files if f.label != BACKGROUND_LABEL and f.clips}
        self.class_names = tuple(label for label in FSD_KAGGLE_2018_LABELS if label in labels)

    def _resolve(self) -> list:
        roots = {}
        for package in self.manifest.packages.values():
            root, reason = self.cache.package_root(package.name, package.version)
            if root is None:
                self.left_out[package.name] = reason
                logger.warning("Real recordings: leaving out %s %s: %s", package.name, package.version, reason)
            roots[package.name] = root
        files = []
        for rule in self.manifest.rules:
            root = roots[rule.package]
            if root is None:
                continue
            matches = matching_files(root, rule.patterns, rule.excludes)
            if not matches and self.strict:
                raise ValueError(f"manifest rule {rule.label} / {rule.package} {list(rule.patterns)} matches no file")
            for relative in matches:
                folder = str(Path(relative).parent) if rule.group == "folder" else relative
                clips = file_clips(root / relative, rule.segment, rule.window_s, rule.note_s)
                unit = f"{rule.package}:{folder}"
                files.append(
                    LabelledFile(
                        rule.label, rule.package, relative, root / relative, unit, self.manifest.licence_of(rule), clips
                    )
                )
        self._drop_duplicates(files)
        return files

    def _drop_duplicates(self, files: list):
        """Remove clips whose recording an earlier package already ships under the same label."""
        by_label = defaultdict(list)
        for file in files:
            by_label[file.label].append(file)
        for group in by_label.values():
            kept = []  # (package, clip id, audio)
            for file in group:
                unique = []
                for index, audio in enumerate(file.clips):
                    twin = next((cid for pkg, cid, a in kept if pkg != file.package and same_recording(a, audio)), None)
                    if twin is None:
                        unique.append(audio)
                    else:
                        self.duplicates.append((twin, clip_id(file, index)))
                kept.extend((file.package, clip_id(file, i), a) for i, a in enumerate(unique))
                file.clips = unique

    def _assign_splits(self) -> dict:
        split_of_unit = {}
        by_label = defaultdict(lambda: defaultdict(list))
        for file in self.files:
            if file.clips and file.unit not in by_label[file.label][file.package]:
                by_label[file.label][file.package].append(file.unit)
        for label, packages in by_label.items():
            files_per_package = {p: sum(f.package == p and f.label == label for f in self.files) for p in packages}
            order = sorted(packages, key=lambda p: (-files_per_package[p], p))
            split_of_unit.update(split_units(label, [sorted(packages[p]) for p in order]))
        return split_of_unit

    def split_of(self, file: LabelledFile) -> tuple:
        """The splits a file's clips belong to (one, or validation and test when they share)."""
        return self._split_of_unit.get((file.label, file.unit), ())

    def clip_split(self, file: LabelledFile, index: int) -> str | None:
        """The split of clip `index` of `file`. A unit that validation and test share gives its
        clips alternately to validation and test (a single clip goes to test): the clip pool
        keeps identical audio once, so the same clip in both splits would vanish from test."""
        splits = self.split_of(file)
        if len(splits) == 2:
            return "validation" if index % 2 == 0 and len(file.clips) > 1 else "test"
        return splits[0] if splits else None

    def clips(self, split: str, role: str) -> list:
        check_split(split)
        wanted_background = role == BACKGROUND
        if role not in (FOREGROUND, BACKGROUND):
            raise ValueError(f"role must be 'foreground' or 'background', got {role!r}")
        out = []
        for file in self.files:
            if (file.label == BACKGROUND_LABEL) != wanted_background:
                continue
            if not wanted_background and file.label not in self.class_names:
                continue
            label = None if wanted_background else file.label
            provenance = (
                f"{file.package} {self.manifest.packages[file.package].version}: {file.relative_path} ({file.licence})"
            )
            out.extend(
                Clip(clip_id(file, i), label, audio, provenance)
                for i, audio in enumerate(file.clips)
                if self.clip_split(file, i) == split
            )
        return out

    def iter_clips(self, split, role):
        yield from self.clips(split, role)

    def num_clips(self, split, role):
        return len(self.clips(split, role))

    def card_section(self) -> str:
        from .summary import card_section

        return card_section(self)


def split_units(label: str, units_by_package: list) -> dict:
    """`{(label, unit): splits}` for one class; `units_by_package` is ordered, main package first.

    Held out: every unit of the other packages, then every third unit of the main package (from
    the second on) when it is the only package or has at least 6 units; they go alternately to test and validation (both, if there is only one)."""
    main, others = units_by_package[0], units_by_package[1:]
    # With other packages to test on, a small main package keeps all its units for training.
    held_from_main = main[1::3] if not others or len(main) >= MIN_UNITS_TO_SHARE else []
    held_out = [unit for units in others for unit in units] + held_from_main
    assigned = {(label, unit): ("train",) for unit in main if unit not in held_from_main}
    if len(held_out) == 1:
        assigned[(label, held_out[0])] = ("validation", "test")
        return assigned
    for index, unit in enumerate(held_out):
        assigned[(label, unit)] = ("test",) if index % 2 == 0 else ("validation",)
    return assigned


def matching_files(root: Path, patterns: tuple, excludes: tuple = ()) -> list:
    """Paths (relative, posix, sorted) of the files under `root` that match a pattern."""
    return [
        path
        for path in package_listing(root)
        if any(fnmatch.fnmatchcase(path, p) for p in patterns)
        and not any(fnmatch.fnmatchcase(path, e) for e in excludes)
    ]


@functools.lru_cache(maxsize=64)
def package_listing(root: Path) -> tuple:
    return tuple(sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()))


def clip_id(file: LabelledFile, index: int) -> str:
    return f"real/{file.package}/{file.relative_path}#{index}"
