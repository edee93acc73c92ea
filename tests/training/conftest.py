"""Shared fixtures of the mixture-builder tests: tiny clip pools, fake official dataset layouts
(FSDKaggle2018, TAU 2019) and a toy build of the built-in corpus."""

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from qrtse.training.audio_io import quantize_pcm16
from qrtse.training.build_dataset import build, toy_builtin_arguments
from qrtse.training.clip_pool import InMemoryClipPool

FAKE_FSD_CLASSES = ("Bark", "Cello", "Flute", "Hi-hat", "Meow", "Trumpet")
FAKE_TAU_LOCATIONS = ("barcelona-0", "helsinki-1", "lisbon-2", "london-3", "milan-4")


def tone(seconds: float, sample_rate: int, frequency: float, seed: int = 0) -> np.ndarray:
    """A decaying tone with a little noise, distinct per (frequency, seed)."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    noise = np.random.default_rng(seed).standard_normal(len(t))
    return (0.4 * np.sin(2 * np.pi * frequency * t) * np.exp(-t) + 0.02 * noise).astype(np.float32)


@pytest.fixture
def tone_pools():
    """In-memory pools: 8 classes x 3 clips of 0.3-8 s (some longer than a mixture), 3 backgrounds
    of which one is shorter than a mixture (it must loop)."""
    rng = np.random.default_rng(0)
    clips, labels = [], []
    for label in range(8):
        for k in range(3):
            seconds = [0.3, 2.0, 8.0][k]
            clips.append(quantize_pcm16(tone(seconds, 16000, 150 * (label + 1), seed=label * 3 + k)))
            labels.append(label)
    backgrounds = [quantize_pcm16(0.1 * rng.standard_normal(int(s * 16000))) for s in (10, 10, 4)]
    return InMemoryClipPool(clips, labels), InMemoryClipPool(backgrounds, [-1] * 3)


def _write_csv(path: Path, header, rows, delimiter=","):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def fake_fsd_classes():
    """The classes that the `fake_fsd_tau` tree has clips of."""
    return FAKE_FSD_CLASSES


@pytest.fixture
def fake_fsd_tau(tmp_path):
    """Tiny FSDKaggle2018 and TAU 2019 development trees in their official layouts:
    44.1 kHz FSD WAVs (3 train + 1 test clip per class), 48 kHz stereo TAU WAVs over 5 locations.
    Returns `(fsd_root, tau_root)`."""
    fsd = tmp_path / "FSDKaggle2018"
    train_rows, test_rows, number = [], [], 44347
    for index, label in enumerate(FAKE_FSD_CLASSES):
        for k in range(4):
            number += 1
            fname = f"{number:08d}.wav"
            folder = "FSDKaggle2018.audio_train" if k < 3 else "FSDKaggle2018.audio_test"
            (fsd / folder).mkdir(parents=True, exist_ok=True)
            sf.write(fsd / folder / fname, tone(0.5 + k, 44100, 200 + 90 * index, seed=number), 44100, subtype="PCM_16")
            if k < 3:
                train_rows.append([fname, label, k % 2, 28739 + number, "Attribution"])
            else:
                test_rows.append([fname, label, "Public", 28739 + number, "Creative Commons 0"])
    _write_csv(
        fsd / "FSDKaggle2018.meta/train_post_competition.csv",
        ["fname", "label", "manually_verified", "freesound_id", "license"],
        train_rows,
    )
    _write_csv(
        fsd / "FSDKaggle2018.meta/test_post_competition_scoring_clips.csv",
        ["fname", "label", "usage", "freesound_id", "license"],
        test_rows,
    )

    tau = tmp_path / "TAU-urban-acoustic-scenes-2019-development"
    (tau / "audio").mkdir(parents=True)
    meta, folds = [], {"train": [], "evaluate": []}
    rng = np.random.default_rng(1)
    for index, location in enumerate(FAKE_TAU_LOCATIONS):
        city = location.split("-")[0]
        for segment in range(2):
            filename = f"audio/street_traffic-{location}-{segment}-a.wav"
            sf.write(tau / filename, 0.05 * rng.standard_normal((48000 * 3, 2)), 48000, subtype="PCM_24")
            meta.append([filename, "street_traffic", location, "a"])
            folds["evaluate" if city == "milan" else "train"].append([filename, "street_traffic"])
    _write_csv(tau / "meta.csv", ["filename", "scene_label", "identifier", "source_label"], meta, delimiter="\t")
    for fold, rows in folds.items():
        _write_csv(tau / f"evaluation_setup/fold1_{fold}.csv", ["filename", "scene_label"], rows, delimiter="\t")
    _write_csv(tau / "evaluation_setup/fold1_test.csv", ["filename"], [[r[0]] for r in folds["evaluate"]], "\t")
    return fsd, tmp_path


@pytest.fixture
def toy_arguments():
    """`toy_builtin_arguments`, for tests that build themselves."""
    return toy_builtin_arguments


@pytest.fixture(scope="session")
def toy_builtin_build(tmp_path_factory):
    """One toy build of the built-in corpus, shared by the tests that only read it."""
    return build(*toy_builtin_arguments(tmp_path_factory.mktemp("builtin") / "data"))
