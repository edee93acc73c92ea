"""Your own classes: a labelled audio folder or a Hugging Face dataset, plus a background folder.

The vocabulary is derived from the data (sorted label names), never from a hard-coded list.

Labelled folder (`foreground_root`), either

    <label>/*.wav|flac|mp3|ogg                 split by seeded per-class fractions, or
    train/<label>/..., validation/<label>/..., test/<label>/...   used as given

Hugging Face dataset: any dataset with an audio column and a label column (ClassLabel or
strings); its train/validation/test splits are used when present, else split by fractions.

Background folder (`background_root`): audio files anywhere below it (or below
train/, validation/, test/), unlabelled.
"""

from pathlib import Path

import numpy as np

from ..audio_io import list_audio_files, read_clip
from ..clip_pool import BACKGROUND, FOREGROUND
from .base import SPLITS, Clip, ClipSource, check_label, check_split, split_items


def _has_split_dirs(root: Path) -> bool:
    subdirs = {p.name for p in root.iterdir() if p.is_dir()}
    return bool(subdirs) and subdirs <= set(SPLITS)


def _split_per_class(items_by_class: dict, fractions: dict, seed: int) -> dict:
    """{split: [(label, item), ...]} with each class split by `fractions` (seeded)."""
    splits = {split: [] for split in SPLITS}
    for index, label in enumerate(sorted(items_by_class)):
        parts = split_items(items_by_class[label], fractions, np.random.default_rng([seed, index]))
        for split, part in parts.items():
            splits[split].extend((label, item) for item in part)
    return splits


def _background_splits(root, fractions: dict, seed: int) -> dict:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"background folder {root} does not exist")
    if _has_split_dirs(root):
        return {s: list_audio_files(root / s) if (root / s).is_dir() else [] for s in SPLITS}
    parts = _split_per_class({None: list_audio_files(root)}, fractions, seed)
    return {split: [path for _, path in part] for split, part in parts.items()}


def _fractions(validation_fraction: float, test_fraction: float) -> dict:
    if validation_fraction < 0 or test_fraction < 0 or validation_fraction + test_fraction >= 1:
        raise ValueError(
            f"need validation_fraction, test_fraction >= 0 summing below 1, got {validation_fraction}, {test_fraction}"
        )
    return {"train": 1 - validation_fraction - test_fraction, "validation": validation_fraction, "test": test_fraction}


class _FolderSourceMixin:
    """What both folder-based sources share: clip counts and the background folder."""

    def num_clips(self, split, role):
        check_split(split)
        return len(self._foregrounds[split] if role == FOREGROUND else self._backgrounds[split])

    def _iter_backgrounds(self, split):
        for path in self._backgrounds[split]:
            audio = read_clip(path)
            if audio is not None:
                clip_id = f"background/{path.relative_to(self.background_root).as_posix()}"
                yield Clip(clip_id, None, audio, "background folder")

    def _card_backgrounds(self) -> str:
        return f"- **Backgrounds:** audio files under `{self.background_root}` (licence: as provided by their owner).\n"


class LabelledFolderSource(_FolderSourceMixin, ClipSource):
    """Foregrounds from `foreground_root/<label>/*` (or `<split>/<label>/*`), backgrounds from a folder.

    Args:
        foreground_root, background_root: the two folders (layouts in the module docstring).
        validation_fraction, test_fraction (`float`, defaults to 0.1 each): used when a folder
            has no split subfolders.
        class_names (`tuple`, *optional*): fix the vocabulary (e.g. to match a trained model);
            a folder label outside it raises ValueError. Defaults to the sorted folder labels.
        seed (`int`): seeds the split.
    """

    name = "folder"
    # The builder cannot know the licence of your files: the card then advises publishing recipes.
    audio_redistributable = False

    def __init__(
        self, foreground_root, background_root, validation_fraction=0.1, test_fraction=0.1, class_names=None, seed=0
    ):
        self.foreground_root, self.background_root = Path(foreground_root), Path(background_root)
        if not self.foreground_root.is_dir():
            raise FileNotFoundError(f"foreground folder {self.foreground_root} does not exist")
        fractions = _fractions(validation_fraction, test_fraction)
        if _has_split_dirs(self.foreground_root):
            self._foregrounds = {
                split: [(p.parent.name, p) for p in self._labelled_files(self.foreground_root / split)]
                for split in SPLITS
            }
        else:
            by_class = {}
            for path in self._labelled_files(self.foreground_root):
                by_class.setdefault(path.parent.name, []).append(path)
            self._foregrounds = _split_per_class(by_class, fractions, seed)
        found = sorted({label for part in self._foregrounds.values() for label, _ in part})
        self.class_names = tuple(class_names) if class_names is not None else tuple(found)
        for label in found:
            check_label(label, self.class_names, f"{self.foreground_root}/{label}/")
        self._backgrounds = _background_splits(self.background_root, fractions, seed)

    @staticmethod
    def _labelled_files(root: Path) -> list:
        """Audio files directly inside the label folders of `root`."""
        if not root.is_dir():
            return []
        return [p for p in list_audio_files(root) if p.parent.parent == root]

    def iter_clips(self, split, role):
        check_split(split)
        if role == BACKGROUND:
            yield from self._iter_backgrounds(split)
            return
        for label, path in self._foregrounds[split]:
            audio = read_clip(path)
            if audio is not None:
                clip_id = f"foreground/{path.relative_to(self.foreground_root).as_posix()}"
                yield Clip(clip_id, label, audio, "foreground folder")

    def card_section(self):
        return (
            f"- **Foregrounds:** labelled audio folder `{self.foreground_root}`, {len(self.class_names)} classes "
            "(licence: as provided by their owner).\n" + self._card_backgrounds()
        )


class HuggingFaceDatasetSource(_FolderSourceMixin, ClipSource):
    """Foregrounds from a Hugging Face dataset with an audio and a label column.

    Args:
        dataset (`str`, `datasets.Dataset` or `datasets.DatasetDict`): a Hub id or local path
            (`load_dataset`), a `save_to_disk` folder, or a loaded dataset.
        background_root: folder of background audio.
        audio_column (`str`, defaults to "audio"), label_column (`str`, defaults to "label").
        validation_fraction, test_fraction, class_names, seed: as in `LabelledFolderSource`;
            fractions apply when the dataset lacks validation/test splits.
    """

    name = "hf-dataset"
    audio_redistributable = False

    def __init__(
        self,
        dataset,
        background_root,
        audio_column="audio",
        label_column="label",
        validation_fraction=0.1,
        test_fraction=0.1,
        class_names=None,
        seed=0,
    ):
        import datasets

        if isinstance(dataset, (str, Path)):
            path = Path(dataset)
            is_saved = (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file()
            dataset = datasets.load_from_disk(str(path)) if is_saved else datasets.load_dataset(str(dataset))
        if isinstance(dataset, datasets.Dataset):
            dataset = datasets.DatasetDict({"train": dataset})
        for column in (audio_column, label_column):
            for split_name, split in dataset.items():
                if column not in split.column_names:
                    raise ValueError(f"split {split_name!r} has no column {column!r}; columns: {split.column_names}")
        self.dataset_name = getattr(next(iter(dataset.values())).info, "dataset_name", None) or "Hugging Face dataset"
        self.audio_column, self.label_column = audio_column, label_column
        self.background_root = Path(background_root)
        dataset = datasets.DatasetDict(
            {name: split.cast_column(audio_column, datasets.Audio(decode=False)) for name, split in dataset.items()}
        )
        rows = {
            name: [(label, (name, i)) for i, label in enumerate(self._label_names(split))]
            for name, split in dataset.items()
        }
        found = sorted({label for part in rows.values() for label, _ in part})
        self.class_names = tuple(class_names) if class_names is not None else tuple(found)
        for label in found:
            check_label(label, self.class_names, f"column {label_column!r}")
        fractions = _fractions(validation_fraction, test_fraction)
        if all(split in dataset for split in SPLITS):
            self._foregrounds = {split: rows[split] for split in SPLITS}
        else:
            by_class = {}
            for part in rows.values():
                for label, key in part:
                    by_class.setdefault(label, []).append(key)
            self._foregrounds = _split_per_class(by_class, fractions, seed)
        self._dataset = dataset
        self._backgrounds = _background_splits(self.background_root, fractions, seed)

    def _label_names(self, split) -> list:
        values = split[self.label_column]
        feature = split.features[self.label_column]
        if hasattr(feature, "int2str"):
            return [feature.int2str(v) for v in values]
        return [str(v) for v in values]

    def iter_clips(self, split, role):
        check_split(split)
        if role == BACKGROUND:
            yield from self._iter_backgrounds(split)
            return
        for label, (split_name, index) in self._foregrounds[split]:
            audio_field = self._dataset[split_name][index][self.audio_column]
            name = f"{split_name}[{index}] ({audio_field.get('path')})"
            data = audio_field.get("bytes") or audio_field.get("path")
            audio = read_clip(data, name=name)
            if audio is not None:
                yield Clip(f"hf/{split_name}/{index}", label, audio, self.dataset_name)

    def card_section(self):
        return (
            f"- **Foregrounds:** {self.dataset_name}, columns `{self.audio_column}` / `{self.label_column}`, "
            f"{len(self.class_names)} classes (licence: see that dataset's card).\n" + self._card_backgrounds()
        )
