"""The paper's corpus (Section 4.1): FSDKaggle2018 foregrounds, TAU Urban Acoustic Scenes 2019 backgrounds.

Both are read from their official Zenodo layouts:

FSDKaggle2018 (Zenodo 2552860), `fsd_root` holding

    FSDKaggle2018.audio_train/*.wav        44.1 kHz, 0.3-30 s
    FSDKaggle2018.audio_test/*.wav
    FSDKaggle2018.meta/train_post_competition.csv              fname,label,manually_verified,freesound_id,license
    FSDKaggle2018.meta/test_post_competition_scoring_clips.csv fname,label,usage,freesound_id,license

TAU Urban Acoustic Scenes 2019 development (Zenodo 2589280), `tau_root` being or holding
`TAU-urban-acoustic-scenes-2019-development/` with

    audio/*.wav                            48 kHz, 10 s
    meta.csv                               tab-separated: filename scene_label identifier source_label
    evaluation_setup/fold1_train.csv       tab-separated: filename scene_label
    evaluation_setup/fold1_evaluate.csv

Splits: FSD test = the official test clips; FSD validation = a seeded, per-class fraction of the
official train clips. TAU test = fold1_evaluate, TAU train/validation = fold1_train split by
recording location (`identifier`), so no location is heard in two splits. Without
`evaluation_setup/`, meta.csv is split by location (30% test).
"""

import csv
import logging
from pathlib import Path

import numpy as np

from modeling_qrtse.configuration_qrtse import FSD_KAGGLE_2018_LABELS

from ..audio_io import read_clip
from ..clip_pool import BACKGROUND, FOREGROUND
from .base import Clip, ClipSource, check_label, check_split, split_items

logger = logging.getLogger(__name__)

FSD_TRAIN_AUDIO = "FSDKaggle2018.audio_train"
FSD_TEST_AUDIO = "FSDKaggle2018.audio_test"
FSD_TRAIN_CSV = "FSDKaggle2018.meta/train_post_competition.csv"
FSD_TEST_CSV = "FSDKaggle2018.meta/test_post_competition_scoring_clips.csv"
TAU_DIR = "TAU-urban-acoustic-scenes-2019-development"

FSD_CARD = """\
- **Foregrounds: FSDKaggle2018** (Fonseca et al., DCASE 2018; Zenodo 2552860), 41 classes.
  The dataset is released under CC BY 4.0; individual Freesound clips carry their own
  licences (CC0, CC BY, CC BY-NC, CC Sampling+), listed per clip in the official metadata.
"""
TAU_CARD = """\
- **Backgrounds: TAU Urban Acoustic Scenes 2019, development set** (Mesaros et al., DCASE 2018;
  Zenodo 2589280). Licence: free academic, **non-commercial** use only; redistribution of the
  audio, or of results derived from it, for commercial purposes is prohibited. **Do not publish
  the rendered mixtures of this build.** Publish the recipes instead
  (`qrtse.training.frozen_split.recipes_only`), which hold clip ids, offsets and gains; anyone with
  the original datasets rebuilds the mixtures bit-exactly with `qrtse.training.frozen_split.rebuild_mixture`.
"""


def _read_rows(path: Path, required: tuple, delimiter: str = ",") -> list:
    """Rows of a CSV as dicts; a clear error if the file or a required column is missing."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: expected the official layout (training/sources/fsd_tau.py)")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        missing = [c for c in required if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path} lacks column(s) {missing}; its header is {reader.fieldnames}")
        return list(reader)


def _tau_dir(tau_root) -> Path:
    root = Path(tau_root)
    return root if (root / "meta.csv").is_file() else root / TAU_DIR


class FsdTauSource(ClipSource):
    """FSDKaggle2018 + TAU 2019 development, from their official layouts (module docstring).

    Args:
        fsd_root: folder holding `FSDKaggle2018.audio_train/`, `FSDKaggle2018.meta/`, ...
        tau_root: `TAU-urban-acoustic-scenes-2019-development/` or its parent.
        validation_fraction (`float`, defaults to 0.1): share of the official train material
            (per FSD class; per TAU recording location) held out for validation.
        manually_verified_only (`bool`, defaults to False): keep only FSD train clips whose
            label was manually verified.
        seed (`int`): seeds the validation hold-out.
    """

    name = "fsd-tau"
    class_names = FSD_KAGGLE_2018_LABELS
    audio_redistributable = False

    def __init__(self, fsd_root, tau_root, validation_fraction: float = 0.1, manually_verified_only=False, seed=0):
        self.fsd_root, self.tau_dir = Path(fsd_root), _tau_dir(tau_root)
        rng = np.random.default_rng([seed, 2018])
        self._foreground = self._fsd_splits(validation_fraction, manually_verified_only, rng)
        self._background = self._tau_splits(validation_fraction, rng)

    def _fsd_splits(self, validation_fraction, manually_verified_only, rng) -> dict:
        train_csv, test_csv = self.fsd_root / FSD_TRAIN_CSV, self.fsd_root / FSD_TEST_CSV
        train_rows = _read_rows(train_csv, ("fname", "label", "manually_verified"))
        test_rows = _read_rows(test_csv, ("fname", "label"))
        for rows, csv_path in ((train_rows, train_csv), (test_rows, test_csv)):
            for row in rows:
                check_label(row["label"], self.class_names, f"{csv_path} (clip {row['fname']})")
        if manually_verified_only:
            train_rows = [r for r in train_rows if r["manually_verified"].strip() == "1"]
        splits = {"train": [], "validation": [], "test": []}
        for label in self.class_names:
            rows = [(FSD_TRAIN_AUDIO, r) for r in train_rows if r["label"] == label]
            parts = split_items(rows, {"train": 1 - validation_fraction, "validation": validation_fraction}, rng)
            for split, part in parts.items():
                splits[split].extend(sorted(part, key=lambda item: item[1]["fname"]))
        splits["test"] = [(FSD_TEST_AUDIO, r) for r in test_rows]
        return splits

    def _tau_splits(self, validation_fraction, rng) -> dict:
        meta = _read_rows(self.tau_dir / "meta.csv", ("filename", "scene_label", "identifier"), delimiter="\t")
        location = {row["filename"]: row["identifier"] for row in meta}
        setup = self.tau_dir / "evaluation_setup"
        if (setup / "fold1_train.csv").is_file() and (setup / "fold1_evaluate.csv").is_file():
            train = [r["filename"] for r in _read_rows(setup / "fold1_train.csv", ("filename",), delimiter="\t")]
            test = [r["filename"] for r in _read_rows(setup / "fold1_evaluate.csv", ("filename",), delimiter="\t")]
        else:
            logger.warning("%s has no evaluation_setup/: splitting meta.csv by recording location", self.tau_dir)
            groups = split_items(sorted(set(location.values())), {"train": 0.7, "test": 0.3}, rng)
            test_locations = set(groups["test"])
            train = [f for f in location if location[f] not in test_locations]
            test = [f for f in location if location[f] in test_locations]
        locations = sorted({location.get(f, f) for f in train})
        fractions = {"train": 1 - validation_fraction, "validation": validation_fraction}
        held_out = set(split_items(locations, fractions, rng)["validation"])
        return {
            "train": sorted(f for f in train if location.get(f, f) not in held_out),
            "validation": sorted(f for f in train if location.get(f, f) in held_out),
            "test": sorted(test),
        }

    def num_clips(self, split, role):
        check_split(split)
        return len(self._foreground[split] if role == FOREGROUND else self._background[split])

    def iter_clips(self, split, role):
        check_split(split)
        if role == FOREGROUND:
            for audio_dir, row in self._foreground[split]:
                audio = read_clip(self.fsd_root / audio_dir / row["fname"])
                if audio is not None:
                    yield Clip(f"fsd/{row['fname']}", row["label"], audio, "FSDKaggle2018")
        elif role == BACKGROUND:
            for filename in self._background[split]:
                audio = read_clip(self.tau_dir / filename)
                if audio is not None:
                    yield Clip(f"tau/{Path(filename).stem}", None, audio, "TAU Urban Acoustic Scenes 2019")
        else:
            raise ValueError(f"role must be 'foreground' or 'background', got {role!r}")

    def card_section(self):
        return FSD_CARD + TAU_CARD
