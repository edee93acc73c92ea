"""Rendered and real clips in one corpus (`--source builtin-real`): the built-in corpus (General
MIDI renders plus its pip recordings) joined with the real recordings of Debian packages.

Ratio. The mixer draws a class first and then one of its clips, so within a class the share of
real clips is what decides how often training hears a real recording. Real training clips are
repeated up to `max_real_repeats` times (default 4) to come as close as that allows to half of a
class's clips where the class also has 200 renders: renders vary pitch, velocity and phrasing
without limit, the real clips bring real instruments, rooms and microphones but are few, and
repeating a handful of clips more than a few times would have the model memorise them. Each
repeat is played at its own rate, within +-6% (pitch and speed together, as another take of the
sound would differ; the clip pool also drops exact copies).
Classes that only real recordings have (e.g. Laughter) are drawn as often as any other class.
Validation and test hold both kinds, each clip once. Backgrounds: the synthetic ones plus the
real ambient recordings.
"""

import hashlib
from collections import Counter

import numpy as np

from modeling_qrtse.configuration_qrtse import FSD_KAGGLE_2018_LABELS
from modeling_qrtse.resampling_qrtse import resample

from ..audio_io import SAMPLE_RATE
from ..clip_pool import FOREGROUND
from .base import Clip, ClipSource, check_split

DEFAULT_MAX_REAL_REPEATS = 4
MAX_RATE_CHANGE = 0.06


def replayed(audio: np.ndarray, clip_id: str, copy: int) -> np.ndarray:
    """`audio` played at a rate in [0.94, 1.06] drawn from the clip id and copy number."""
    seed = int.from_bytes(hashlib.sha256(f"{clip_id}~{copy}".encode()).digest()[:8], "little")
    rate = 1 + np.random.default_rng(seed).uniform(-MAX_RATE_CHANGE, MAX_RATE_CHANGE)
    return resample(audio, round(SAMPLE_RATE * rate), SAMPLE_RATE)


class RenderedAndRealSource(ClipSource):
    name = "builtin-real"

    def __init__(self, rendered: ClipSource, real: ClipSource, max_real_repeats: int = DEFAULT_MAX_REAL_REPEATS):
        if max_real_repeats < 1:
            raise ValueError(f"max_real_repeats must be >= 1, got {max_real_repeats}")
        self.rendered, self.real, self.max_real_repeats = rendered, real, max_real_repeats
        self.audio_redistributable = rendered.audio_redistributable and real.audio_redistributable
        labels = set(rendered.class_names) | set(real.class_names)
        self.class_names = tuple(label for label in FSD_KAGGLE_2018_LABELS if label in labels)
        self._rendered_train_counts = None

    def repeats(self, label: str, num_real: int) -> int:
        """How often each real training clip of `label` is repeated (see the module docstring)."""
        if self._rendered_train_counts is None:
            per_class = getattr(self.rendered, "clips_per_class", {}).get("train", 0)
            self._rendered_train_counts = Counter({c: per_class for c in self.rendered.class_names})
        rendered = self._rendered_train_counts[label]
        if rendered == 0 or num_real == 0:
            return 1
        return int(min(self.max_real_repeats, max(1, round(rendered / num_real))))

    def iter_clips(self, split, role):
        check_split(split)
        yield from self.rendered.iter_clips(split, role)
        real = list(self.real.iter_clips(split, role))
        if split != "train" or role != FOREGROUND:
            yield from real
            return
        counts = Counter(c.label for c in real)
        for clip in real:
            yield clip
            for copy in range(1, self.repeats(clip.label, counts[clip.label])):
                audio = replayed(clip.audio, clip.clip_id, copy)
                yield Clip(f"{clip.clip_id}~{copy}", clip.label, audio, f"{clip.source}, replayed")

    def num_clips(self, split, role):
        rendered = self.rendered.num_clips(split, role)
        real = self.real.num_clips(split, role)
        return None if rendered is None or real is None else rendered + real

    def card_section(self):
        return (
            self.rendered.card_section()
            + self.real.card_section()
            + f"- Ratio: each real training clip is repeated up to {self.max_real_repeats} times so that, where a class"
            " also has renders, real clips come close to half of its training clips (`training/sources/mixed.py`).\n"
        )
