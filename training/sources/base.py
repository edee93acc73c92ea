"""What every clip source provides: labelled foreground and unlabelled background clips per split.

Paper Section 4.1 mixes FSDKaggle2018 foregrounds with TAU Urban Acoustic Scenes 2019
backgrounds; the sources in this package (`fsd_tau`, `folder`, `builtin`) all follow this
interface, and `qrtse.training.clip_dataset` turns any of them into stored clip pools.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "validation", "test")


@dataclass
class Clip:
    """One source clip.

    Attributes:
        clip_id (`str`): unique and stable across runs (recipes refer to clips by it).
        label (`str` or None): class name for foreground clips, None for backgrounds.
        audio (`np.ndarray`): mono float32 at 16 kHz.
        source (`str`): provenance shown in the dataset card, e.g. `"FSDKaggle2018"`.
    """

    clip_id: str
    label: str | None
    audio: np.ndarray
    source: str


class ClipSource:
    """Base class of clip sources.

    Subclasses set `name`, `class_names` (the vocabulary, a tuple of str) and
    `audio_redistributable` (False when rendered mixtures must not be published, e.g. TAU), and
    implement `iter_clips`, `num_clips` and `card_section`.
    """

    name: str = "source"
    class_names: tuple = ()
    audio_redistributable: bool = True

    def iter_clips(self, split: str, role: str) -> Iterator[Clip]:
        """Clips of one split (`"train"`, `"validation"`, `"test"`) and role (`"foreground"`,
        `"background"`), in a fixed order. Unreadable clips are skipped with a warning."""
        raise NotImplementedError

    def num_clips(self, split: str, role: str) -> int | None:
        """How many clips `iter_clips` will try (for progress bars), or None if unknown."""
        return None

    def card_section(self) -> str:
        """Markdown describing where the clips come from and under which licences."""
        raise NotImplementedError


def check_label(label: str, class_names, where) -> str:
    """`label` if it is in the vocabulary, else a ValueError naming it and where it was found."""
    if label not in class_names:
        raise ValueError(
            f"Label {label!r} in {where} is not in the vocabulary of {len(class_names)} classes "
            f"({', '.join(class_names[:5])}, ...)"
        )
    return label


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def split_items(items: list, fractions: dict, rng: np.random.Generator) -> dict:
    """Shuffle `items` and cut them into named parts by `fractions` (e.g. {"train": 0.9,
    "validation": 0.1}); every part gets at least one item when there are enough items."""
    order = [items[i] for i in rng.permutation(len(items))]
    names = list(fractions)
    counts = [round(fractions[n] * len(order)) for n in names[1:]]
    if len(order) > len(names):
        counts = [max(1, c) for c in counts]
    parts, start = {}, 0
    for name, count in zip(names[1:], counts):
        parts[name] = order[start : start + count]
        start += count
    parts[names[0]] = order[start:]
    return parts
