"""Random musical phrases, so that a rendered class is never one fixed waveform.

Every generator draws pitch, velocity, note length, tempo and phrase shape (single notes, runs,
repeated notes, arpeggios, chords, drum patterns, ring cadences) from `rng` and returns
`Phrase(notes, preset, drums)`. Phrases stay within about 6 s, the mixture length.
"""

from dataclasses import dataclass

import numpy as np

from .soundfont import Note

SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "pentatonic": (0, 2, 4, 7, 9),
    "blues": (0, 3, 5, 6, 7, 10),
    "chromatic": tuple(range(12)),
}
MAX_PHRASE_S = 6.0


@dataclass(frozen=True)
class Phrase:
    notes: tuple
    preset: int
    drums: bool


def _velocities(rng, count: int) -> list:
    """A base dynamic, a crescendo or diminuendo, and per-note jitter, within 1-127."""
    base, slope = rng.uniform(45, 120), rng.uniform(-40, 40) * rng.integers(0, 2)
    ramp = np.linspace(0, slope, count) if count > 1 else np.zeros(1)
    return [int(np.clip(base + r + rng.normal(0, 8), 1, 127)) for r in ramp]


def _scale_keys(rng, low: int, high: int) -> np.ndarray:
    """All keys in [low, high] of a random scale on a random tonic."""
    scale, tonic = SCALES[rng.choice(list(SCALES))], int(rng.integers(0, 12))
    keys = np.array([k for k in range(low, high + 1) if (k - tonic) % 12 in scale])
    return keys if len(keys) else np.arange(low, high + 1)


def _line(rng, keys: np.ndarray) -> list:
    """Key sequence of one melodic gesture over the scale `keys`."""
    style = rng.choice(["single", "run", "repeated", "arpeggio", "leaps"], p=[0.2, 0.3, 0.15, 0.2, 0.15])
    count = 1 if style == "single" else int(rng.integers(2, 11))
    position = int(rng.integers(0, len(keys)))
    if style == "run":
        steps = np.full(count - 1, rng.choice([-1, 1])) if rng.random() < 0.6 else rng.choice([-1, 1], count - 1)
    elif style == "arpeggio":
        steps = np.full(count - 1, 2 * rng.choice([-1, 1]))
    elif style == "leaps":
        steps = rng.integers(-5, 6, count - 1)
    else:
        steps = np.zeros(count - 1, dtype=int)
    positions = np.cumsum(np.concatenate([[position], steps]))
    # Reflect at the ends of the instrument's range instead of clipping to one repeated key.
    period = 2 * (len(keys) - 1) or 1
    positions = np.abs((positions % period + period) % period)
    positions = np.where(positions >= len(keys), period - positions, positions)
    return [int(keys[p]) for p in positions]


def _timed(rng, keys_per_step: list, step_s: float, legato: float, start: float = 0.0) -> list:
    """Notes for a sequence of steps (each step one key or a chord), with human timing jitter."""
    notes, velocities = [], _velocities(rng, len(keys_per_step))
    for index, (keys, velocity) in enumerate(zip(keys_per_step, velocities)):
        onset = start + index * step_s * rng.uniform(0.9, 1.1)
        if onset > MAX_PHRASE_S:
            break
        for voice, key in enumerate(keys):
            strum = voice * rng.uniform(0.0, 0.03)
            notes.append(Note(max(0.0, onset + strum + rng.normal(0, 0.008)), key, velocity, step_s * legato))
    return notes


def melodic(spec, rng) -> Phrase:
    keys = _scale_keys(rng, *spec.key_range)
    line = _line(rng, keys)
    step_s = rng.uniform(0.3, 2.5) if len(line) == 1 else rng.uniform(0.1, 0.6)
    notes = _timed(rng, [[k] for k in line], step_s, legato=rng.uniform(0.5, 1.0))
    return Phrase(tuple(notes), int(rng.choice(spec.presets)), False)


def chordal(spec, rng) -> Phrase:
    """Guitar / electric piano: half melodic lines, half chords (strummed or struck)."""
    if rng.random() < 0.5:
        return melodic(spec, rng)
    keys = _scale_keys(rng, *spec.key_range)
    chords = []
    for _ in range(int(rng.integers(1, 5))):
        root = int(rng.integers(0, max(1, len(keys) - 6)))
        size = int(rng.integers(2, 5))
        chords.append([int(keys[min(root + 2 * i, len(keys) - 1)]) for i in range(size)])
    notes = _timed(rng, chords, rng.uniform(0.4, 1.5), legato=rng.uniform(0.6, 1.0))
    return Phrase(tuple(notes), int(rng.choice(spec.presets)), False)


def sustained(spec, rng) -> Phrase:
    """Applause: one or two overlapping sustained notes; the key changes the clapping texture."""
    notes = []
    for layer in range(int(rng.integers(1, 3))):
        onset = 0.0 if layer == 0 else rng.uniform(0.0, 1.5)
        key = int(rng.integers(spec.key_range[0], spec.key_range[1] + 1))
        notes.append(Note(onset, key, int(rng.integers(50, 128)), rng.uniform(0.8, 5.0)))
    return Phrase(tuple(notes), int(rng.choice(spec.presets)), False)


def hits(spec, rng) -> Phrase:
    """Drum patterns: 1-12 hits on a random tempo grid, accents, occasional rolls."""
    beat_s = 60.0 / rng.uniform(60, 200)
    subdivision = int(rng.choice([1, 2, 4]))
    if rng.random() < 0.15:  # a roll: fast even strokes
        slots = np.arange(int(rng.integers(4, 16)))
        subdivision = 8
    else:
        slots = np.sort(rng.choice(32, size=int(rng.integers(1, 13)), replace=False))
        slots -= slots[0]  # the pattern starts with its first hit
    notes, velocities = [], _velocities(rng, len(slots))
    for slot, velocity in zip(slots, velocities):
        onset = slot * beat_s / subdivision + rng.normal(0, 0.005)
        if onset > MAX_PHRASE_S:
            break
        accent = 20 if slot % subdivision == 0 else 0
        key = int(rng.choice(spec.drum_keys, p=_drum_key_weights(spec.drum_keys)))
        notes.append(Note(max(0.0, onset), key, int(np.clip(velocity + accent, 1, 127)), rng.uniform(0.05, 0.3)))
    return Phrase(tuple(notes), 0, True)


def _drum_key_weights(keys) -> np.ndarray:
    # The first key is the common one (closed hi-hat, kick 36 vs 35 ...): give it half the weight.
    weights = np.full(len(keys), 0.5 / max(1, len(keys) - 1)) if len(keys) > 1 else np.ones(1)
    weights[0] = 0.5 if len(keys) > 1 else 1.0
    return weights / weights.sum()


def bells(spec, rng) -> Phrase:
    """Chime: tubular-bell strikes, or a bell-tree shimmer from the drum kit."""
    if spec.drum_keys and rng.random() < 0.35:
        count = int(rng.integers(1, 4))
        onsets = np.cumsum(np.concatenate([[0.0], rng.uniform(0.6, 1.8, count - 1)]))
        velocities = _velocities(rng, count)
        notes = [Note(t, int(rng.choice(spec.drum_keys)), v, 1.0) for t, v in zip(onsets, velocities)]
        return Phrase(tuple(notes), 0, True)
    keys = _scale_keys(rng, *spec.key_range)
    line = _line(rng, keys)[:6]
    notes = _timed(rng, [[k] for k in line], rng.uniform(0.35, 1.2), legato=1.0)
    return Phrase(tuple(notes), int(rng.choice(spec.presets)), False)


def shots(spec, rng) -> Phrase:
    """Gunshot_or_gunfire: 1-4 shots, single (0.3-1.2 s apart) or a burst (70-150 ms apart)."""
    count = int(rng.integers(1, 5))
    interval = (0.07, 0.15) if rng.random() < 0.4 else (0.3, 1.2)
    onsets = np.cumsum(np.concatenate([[0.0], rng.uniform(*interval, count - 1)]))
    base = int(rng.integers(spec.key_range[0], spec.key_range[1] + 1))
    notes = [Note(t, int(np.clip(base + rng.integers(-2, 3), 0, 127)), int(rng.integers(80, 128)), 0.2) for t in onsets]
    return Phrase(tuple(notes), int(rng.choice(spec.presets)), False)


def ring(spec, rng) -> Phrase:
    """Telephone: the 0.3 s ring burst retriggered in a long (1-2 s) or double (0.4 + 0.4 s) cadence."""
    key, velocity = int(rng.integers(spec.key_range[0], spec.key_range[1] + 1)), int(rng.integers(70, 128))
    burst_s = rng.uniform(0.25, 0.32)
    bursts = []
    start = 0.0
    for _ in range(int(rng.integers(1, 4))):
        if rng.random() < 0.5:
            on_spans = [(start, start + rng.uniform(1.0, 2.0))]
        else:
            on_spans = [(start, start + 0.4), (start + 0.6, start + 1.0)]
        for begin, end in on_spans:
            bursts.extend(np.arange(begin, end - 0.05, burst_s))
        start = on_spans[-1][1] + rng.uniform(0.8, 3.0)
        if start > MAX_PHRASE_S - 1.0:
            break
    notes = [Note(float(t), key, velocity, burst_s * 0.95) for t in bursts]
    return Phrase(tuple(notes), int(rng.choice(spec.presets)), False)


PHRASINGS = {
    "melodic": melodic,
    "chordal": chordal,
    "sustained": sustained,
    "hits": hits,
    "bells": bells,
    "shots": shots,
    "ring": ring,
}


def draw_phrase(spec, rng: np.random.Generator) -> Phrase:
    """A random phrase for the GM class `spec` (`qrtse.training.sources.builtin.gm_classes.GmClass`)."""
    return PHRASINGS[spec.phrasing](spec, rng)
