"""Example mixtures for the Space.

The examples are the package's real-recording mixtures (`modeling_qrtse.example_mixtures`: 6 s
mixtures from the real-recordings test split, chosen by a fixed rule, with their attributions)
when the package is installed. A Space that has only the model gets two mixtures synthesised
here from sine partials and noise instead (this project's own work, CC0): a telephone ring (US
cadence, 440 + 480 Hz) and glockenspiel-like strikes over filtered street-like noise. Each
example comes with a query that names one present class and one absent class (a partially
matched query, paper Section 1).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16000


@dataclass(frozen=True)
class Example:
    path: str
    query: tuple  # classes to ask for
    present: tuple  # classes actually in the mixture
    description: str


def _envelope(length: int, attack: int, release: int) -> np.ndarray:
    envelope = np.ones(length)
    envelope[:attack] = np.linspace(0, 1, attack)
    envelope[length - release :] = np.linspace(1, 0, release)
    return envelope


def telephone_ring(seconds: float) -> np.ndarray:
    """US ring cadence: 2 s of 440 + 480 Hz, 4 s of silence, repeated."""
    t = np.arange(int(seconds * RATE)) / RATE
    tone = 0.5 * (np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t))
    gate = ((t % 6.0) < 2.0).astype(np.float64)
    smooth = np.convolve(gate, np.hanning(160) / np.hanning(160).sum(), mode="same")  # 10 ms ramps, no clicks
    return tone * smooth


def glockenspiel(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Struck bars: a few inharmonic partials (bar modes 1, 2.76, 5.40) decaying in ~0.5 s."""
    out = np.zeros(int(seconds * RATE))
    for onset in np.arange(0.5, seconds - 0.8, 0.6):
        f0 = rng.choice([1046.5, 1174.7, 1318.5, 1568.0, 1760.0])
        t = np.arange(int(0.8 * RATE)) / RATE
        note = sum(a * np.sin(2 * np.pi * f0 * r * t) for r, a in ((1, 1.0), (2.76, 0.4), (5.40, 0.2)))
        start = int(onset * RATE)
        out[start : start + len(t)] += note * np.exp(-t / 0.15) * _envelope(len(t), 16, 160)
    return out


def street_noise(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Brown-ish noise with a slow swell, like distant traffic."""
    white = rng.standard_normal(int(seconds * RATE))
    brown = np.cumsum(white)
    brown -= np.convolve(brown, np.ones(4000) / 4000, mode="same")  # remove the drift
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * np.arange(len(white)) / RATE / seconds)
    return brown / np.abs(brown).max() * swell


def _mix(sources: list, gains_db: list, rng: np.random.Generator, seconds: float) -> np.ndarray:
    mixture = 0.3 * street_noise(seconds, rng)
    for source, gain_db in zip(sources, gains_db):
        mixture += source / np.sqrt(np.mean(source**2)) * np.sqrt(np.mean(mixture**2)) * 10 ** (gain_db / 20)
    return (0.8 * mixture / np.abs(mixture).max()).astype(np.float32)


def synthetic_examples(folder: Path, labels: set, seed: int = 0) -> list:
    """The CC0 synthetic examples whose classes the model knows, written as WAV into `folder`."""
    rng = np.random.default_rng(seed)
    seconds = 8.0
    candidates = [
        (
            "telephone",
            _mix([telephone_ring(seconds)], [3.0], rng, seconds),
            ("Telephone", "Bark"),
            ("Telephone",),
            "Synthetic telephone ring over traffic noise; the query also names a dog, which is absent.",
        ),
        (
            "glockenspiel",
            _mix([glockenspiel(seconds, rng)], [5.0], rng, seconds),
            ("Glockenspiel", "Trumpet"),
            ("Glockenspiel",),
            "Synthetic glockenspiel over traffic noise; the query also names a trumpet, which is absent.",
        ),
    ]
    examples = []
    for name, audio, query, present, description in candidates:
        if not set(query) <= labels:
            continue
        path = folder / f"synthetic_{name}.wav"
        sf.write(path, audio, RATE, subtype="PCM_16")
        examples.append(Example(str(path), query, present, description))
    return examples


def package_examples(labels: set) -> list:
    """The package's real-recording examples whose classes the model knows ([] without the package)."""
    try:
        from modeling_qrtse.example_mixtures import example_mixtures
    except ImportError:
        return []
    try:
        shipped = example_mixtures()
    except ValueError:  # an installation without the example files
        return []
    return [
        Example(
            str(e.path),
            e.query,
            e.present,
            f"Real recordings {e.number}: {', '.join(e.present)} (packages: "
            + ", ".join(sorted({r["package"] for r in e.recordings}))
            + ")",
        )
        for e in shipped
        if set(e.query) <= labels
    ]


def write_examples(folder, labels) -> list:
    """The real-recording examples where the package is installed, else the synthetic ones
    (written into `folder`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    labels = set(labels)
    return package_examples(labels) or synthetic_examples(folder, labels)
