"""General MIDI renders with tinysoundfont and the TimGM6mb soundfont shipped by pretty-midi.

TimGM6mb.sf2 is labelled GPL-2 by Debian: it is rendered at run time and the renders are never
committed (the dataset card says so). tinysoundfont (MIT) must be installed with `--no-deps`:
its pyaudio dependency is only for live playback and needs portaudio headers.
"""

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...audio_io import SAMPLE_RATE

DRUM_BANK = 128
CENTRE_PITCH_BEND = 8192
# Clips end where the release tail falls below this level relative to the clip's peak...
TAIL_FLOOR_DB = -60.0
# ...and fade out over this long, so a tail cut early does not click (offline-sound-corpus notes).
FADE_OUT_S = 0.15
FLUSH_S = 0.05


@dataclass(frozen=True)
class Note:
    """A note or drum hit: `onset` and `duration` in seconds, MIDI `key` and `velocity` (1-127)."""

    onset: float
    key: int
    velocity: int
    duration: float


def soundfont_path() -> Path:
    """TimGM6mb.sf2 inside the installed pretty-midi package (located without importing it)."""
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("The built-in corpus needs pretty-midi==0.2.11.post0 for its TimGM6mb.sf2 soundfont")
    return Path(next(iter(spec.submodule_search_locations))) / "TimGM6mb.sf2"


class SoundfontRenderer:
    """Renders note lists on one channel, sample-accurately, to mono float32 at `sample_rate`.

    Every render starts from silence (`sounds_off`), so a clip depends only on its own notes.
    """

    def __init__(self, sample_rate: int = SAMPLE_RATE):
        try:
            import tinysoundfont
        except ImportError as error:
            raise ImportError(
                "The built-in corpus needs tinysoundfont; install it with "
                "`pip install --no-deps tinysoundfont==0.3.7` (see the Makefile's setup target)"
            ) from error
        self.sample_rate = sample_rate
        self._synth = tinysoundfont.Synth(samplerate=sample_rate)
        self._sfid = self._synth.sfload(str(soundfont_path()))
        self._sounding = {}

    def key_sounds(self, key: int, preset: int = 0, drums: bool = False) -> bool:
        """Whether the soundfont has a sample for `key` (TimGM6mb has holes, e.g. key 64 of the
        alto sax); phrases drop silent keys rather than render silence labelled as a class."""
        if (key, preset, drums) not in self._sounding:
            audio = self.render([Note(0.0, key, 100, 0.2)], preset, drums, max_tail_s=0.1)
            self._sounding[key, preset, drums] = bool(np.max(np.abs(audio), initial=0.0) > 1e-3)
        return self._sounding[key, preset, drums]

    def _generate(self, num_samples: int) -> np.ndarray:
        if num_samples <= 0:
            return np.zeros((0, 2), dtype=np.float32)
        return np.frombuffer(self._synth.generate(num_samples), dtype=np.float32).reshape(-1, 2).copy()

    def render(self, notes, preset: int = 0, drums: bool = False, pitch_bend: int = CENTRE_PITCH_BEND, max_tail_s=2.0):
        """Mono render of `notes` with GM `preset` (0-based) or the drum kit, plus up to
        `max_tail_s` of release tail, cut at -60 dB and faded out."""
        synth, channel = self._synth, 9 if drums else 0
        synth.sounds_off()
        # sounds_off only starts a fast release; render it away so no voice leaks into this clip.
        self._generate(int(FLUSH_S * self.sample_rate))
        synth.program_select(channel, self._sfid, DRUM_BANK if drums else 0, 0 if drums else preset, is_drums=drums)
        synth.pitchbend(channel, int(pitch_bend))
        events = []
        for note in notes:
            start = round(note.onset * self.sample_rate)
            events.append((start, 1, note.key, note.velocity))
            events.append((start + max(1, round(note.duration * self.sample_rate)), 0, note.key, 0))
        events.sort()  # note-offs (0) before note-ons (1) at the same sample, so repeats retrigger
        chunks, now = [], 0
        for time, is_on, key, velocity in events:
            chunks.append(self._generate(time - now))
            now = time
            if is_on:
                synth.noteon(channel, key, velocity)
            else:
                synth.noteoff(channel, key)
        chunks.append(self._generate(int(max_tail_s * self.sample_rate)))
        synth.pitchbend(channel, CENTRE_PITCH_BEND)
        return self._finish(np.concatenate(chunks).mean(axis=1))

    def _finish(self, audio: np.ndarray) -> np.ndarray:
        peak = np.max(np.abs(audio))
        if peak == 0:
            return audio
        audible = np.flatnonzero(np.abs(audio) >= peak * 10 ** (TAIL_FLOOR_DB / 20))
        audio = audio[: audible[-1] + 1].copy()
        fade = min(len(audio) // 4, int(FADE_OUT_S * self.sample_rate))
        if fade > 0:
            audio[-fade:] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, fade)))
        return audio
