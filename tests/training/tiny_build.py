"""A tiny build folder (clip pools + frozen splits) made from synthetic WAVs, for training tests."""

from pathlib import Path

import numpy as np
import soundfile as sf

from qrtse.training.clip_dataset import build_clip_dataset, load_clip_pools
from qrtse.training.frozen_split import iter_mixture_examples, save_frozen_splits
from qrtse.training.sources.folder import LabelledFolderSource

LABELS = ("beep", "bell", "buzz", "chirp", "clap", "hum", "noise", "pulse", "sweep", "tick", "whistle")


def _clip(label: str, rng: np.random.Generator, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(rate * rng.uniform(0.5, 1.5))) / rate
    pitch = (100 + 300 * LABELS.index(label)) * rng.uniform(0.9, 1.1)
    tone = rng.normal(size=t.size) if label == "noise" else np.sign(np.sin(2 * np.pi * pitch * t)) * 0.5
    return (0.3 * tone * np.hanning(t.size)).astype(np.float32)


def write_tiny_build(root: Path, num_validation: int = 4, num_test: int = 4) -> Path:
    rng = np.random.default_rng(0)
    for split in ("train", "validation", "test"):
        for label in LABELS:
            for k in range(1 if split != "train" else 2):
                path = root / "fg" / split / label / f"{label}{k}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, _clip(label, rng), 16000)
        path = root / "bg" / split / "street.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, (0.05 * rng.normal(size=16000 * 7)).astype(np.float32), 16000)
    source = LabelledFolderSource(root / "fg", root / "bg")
    build = root / "build"
    build_clip_dataset(source, build / "clips", progress=False)
    splits = {}
    for split, count in (("validation", num_validation), ("test", num_test)):
        foreground, background, names = load_clip_pools(build / "clips", split)
        splits[split] = list(iter_mixture_examples(split, count, 0, foreground, background, names, progress=False))
    save_frozen_splits(splits, source.class_names, build, fingerprint="tiny")
    return build
