"""Mixture recipes and their exact rendering, in pure numpy (paper Section 4.1).

A mixture is 3-5 distinct foreground classes and one background, 6 s at 16 kHz, each
foreground at an SNR drawn from U(15, 25) dB.

SNR convention (the paper does not state one): per event, relative to the background,

    SNR = 10 log10( mean(event^2 over the event's own samples) / mean(background^2 over the mixture) )

where the event's samples are the clip placed in the mixture (clips are stored with leading
and trailing silence trimmed, so this is the power of the sound while it sounds). The
background is the reference because it is the one source present for the whole mixture.

Exactness: the per-class stems and the background are quantised to the 16-bit grid
(`round(x * 32768) / 32768`) *before* they are summed, with an overall gain chosen so that the
mixture peak is at most 0.9. Every stem value is then k / 32768 and the mixture, their sum, is
exactly representable both in float32 and as PCM_16, so storing everything as 16-bit FLAC
keeps `mixture == sum(stems) + background` bit for bit.
"""

from dataclasses import dataclass, field

import numpy as np

from .audio_io import PCM16_SCALE, SAMPLE_RATE

# Redraws of a clip window or background offset that turned out silent, before giving up.
_MAX_REDRAWS = 10
# Below this mean power (about -100 dBFS) a window is treated as silent.
_SILENT_POWER = 1e-10


@dataclass(frozen=True)
class MixingConfig:
    """How mixtures are drawn (paper Section 4.1 defaults).

    Args:
        sample_rate (`int`, defaults to 16000): Hz.
        duration_s (`float`, defaults to 6.0): mixture length in seconds.
        min_sources / max_sources (`int`, defaults to 3 / 5): number of distinct foreground
            classes, drawn uniformly in [min_sources, max_sources]. `max_sources` is also the
            number of stem slots.
        snr_db_range (`tuple`, defaults to (15.0, 25.0)): per-event SNR in dB, drawn uniformly
            (convention in the module docstring).
        peak_range (`tuple`, defaults to (0.25, 0.9)): the mixture is scaled to a peak drawn
            uniformly in this range, so levels vary and nothing clips.
    """

    sample_rate: int = SAMPLE_RATE
    duration_s: float = 6.0
    min_sources: int = 3
    max_sources: int = 5
    snr_db_range: tuple = (15.0, 25.0)
    peak_range: tuple = (0.25, 0.9)

    def __post_init__(self):
        if not 1 <= self.min_sources <= self.max_sources:
            raise ValueError(f"need 1 <= min_sources <= max_sources, got {self.min_sources}, {self.max_sources}")
        if self.snr_db_range[0] > self.snr_db_range[1]:
            raise ValueError(f"snr_db_range must be (low, high), got {self.snr_db_range}")
        if not 0 < self.peak_range[0] <= self.peak_range[1] <= 0.9:
            raise ValueError(f"peak_range must lie in (0, 0.9] so the 16-bit sum cannot clip, got {self.peak_range}")
        if self.num_samples <= 0:
            raise ValueError(f"duration_s must be positive, got {self.duration_s}")

    @property
    def num_samples(self) -> int:
        return round(self.duration_s * self.sample_rate)


DEFAULT_MIXING = MixingConfig()


@dataclass(frozen=True)
class MixtureEvent:
    """One foreground clip placed in a mixture: `gain * clip[clip_offset:clip_offset+length]`
    added at sample `onset`. `gain` is final (overall level included); `snr_db` is the drawn SNR."""

    label: int
    clip_index: int
    onset: int
    clip_offset: int
    length: int
    snr_db: float
    gain: float


@dataclass(frozen=True)
class MixtureRecipe:
    """Everything needed to render a mixture from its clip pools, bit-exactly.

    The background window is `background_gain * clip[(background_offset + t) % len(clip)]`:
    backgrounds shorter than the mixture loop.
    """

    events: tuple
    background_index: int
    background_offset: int
    background_gain: float
    num_samples: int


@dataclass
class RenderedMixture:
    """A rendered mixture. Float arrays are exactly `pcm / 32768`.

    Attributes:
        stems (`np.ndarray` of shape `(max_sources, time)`): per-class foreground stems (the sum
            of that class's events), zero rows for unused slots.
        stem_labels (`np.ndarray` of shape `(max_sources,)`): class of each slot, -1 if unused.
        background (`np.ndarray` of shape `(time,)`).
        stems_pcm (`np.ndarray` of shape `(max_sources, time)`, int16) and background_pcm: the same
            on the integer grid, for storage.
    """

    stems_pcm: np.ndarray
    background_pcm: np.ndarray
    stem_labels: np.ndarray
    mixture_pcm: np.ndarray = field(init=False)

    def __post_init__(self):
        total = self.stems_pcm.astype(np.int32).sum(axis=0) + self.background_pcm
        if np.abs(total).max(initial=0) > 32767:
            raise ValueError("mixture exceeds the 16-bit range; lower MixingConfig.peak_range")
        self.mixture_pcm = total.astype(np.int16)

    @property
    def stems(self) -> np.ndarray:
        return self.stems_pcm.astype(np.float32) / np.float32(PCM16_SCALE)

    @property
    def background(self) -> np.ndarray:
        return self.background_pcm.astype(np.float32) / np.float32(PCM16_SCALE)

    @property
    def mixture(self) -> np.ndarray:
        return self.mixture_pcm.astype(np.float32) / np.float32(PCM16_SCALE)


def background_window(clip: np.ndarray, offset: int, num_samples: int) -> np.ndarray:
    """`num_samples` samples of `clip` from `offset`, looping if the clip is shorter."""
    if offset + num_samples <= len(clip):
        return clip[offset : offset + num_samples]
    return np.take(clip, (offset + np.arange(num_samples)) % len(clip))


def _power(x: np.ndarray) -> float:
    return float(np.mean(np.square(x, dtype=np.float64)))


def _draw_event_window(rng, foreground, index: int, num_samples: int) -> tuple:
    """(onset, clip_offset, length, power): short clips go at a random onset, long clips are
    cut at a random offset to fill the mixture; silent windows of long clips are redrawn, and
    the SNR is measured over the window actually used."""
    clip = foreground.clip(index)
    if len(clip) < num_samples:
        return int(rng.integers(0, num_samples - len(clip) + 1)), 0, len(clip), _power(clip)
    for _ in range(_MAX_REDRAWS):
        offset = int(rng.integers(0, len(clip) - num_samples + 1))
        power = _power(clip[offset : offset + num_samples])
        if power > _SILENT_POWER:
            return 0, offset, num_samples, power
    # A mostly silent long clip: centre the window on its loudest sample, which is never silent.
    offset = int(np.clip(np.argmax(np.abs(clip)) - num_samples // 2, 0, len(clip) - num_samples))
    return 0, offset, num_samples, _power(clip[offset : offset + num_samples])


def draw_recipe(
    rng: np.random.Generator, foreground, background, config: MixingConfig = DEFAULT_MIXING
) -> MixtureRecipe:
    """Draw one mixture (Section 4.1): `n ~ U{min_sources..max_sources}` distinct classes among
    those in `foreground`, one uniformly drawn clip per class, one background clip with a random
    offset, per-event SNRs ~ U(snr_db_range) and an overall peak ~ U(peak_range).

    `foreground` and `background` are `ClipPool`s. Raises ValueError if the foreground pool has
    fewer than `max_sources` classes or a pool is empty.
    """
    classes = foreground.classes()
    if len(classes) < config.max_sources:
        raise ValueError(
            f"the foreground pool has {len(classes)} classes with clips; mixtures need up to "
            f"{config.max_sources} distinct classes"
        )
    if len(background) == 0:
        raise ValueError("the background pool is empty")
    num_samples = config.num_samples

    num_classes = int(rng.integers(config.min_sources, config.max_sources + 1))
    chosen = np.sort(rng.choice(classes, size=num_classes, replace=False))
    drafts = []
    for label in chosen:
        index = int(rng.choice(foreground.indices_of_class(label)))
        onset, offset, length, power = _draw_event_window(rng, foreground, index, num_samples)
        drafts.append((int(label), index, onset, offset, length, float(rng.uniform(*config.snr_db_range)), power))

    background_index = int(rng.integers(0, len(background)))
    background_clip = background.clip(background_index)
    for _ in range(_MAX_REDRAWS):
        background_offset = int(rng.integers(0, len(background_clip)))
        background_power = _power(background_window(background_clip, background_offset, num_samples))
        if background_power > _SILENT_POWER:
            break
    else:
        raise ValueError(f"background clip {background.clip_ids[background_index]!r} is silent")
    peak = float(rng.uniform(*config.peak_range))

    # Gains for the drawn SNRs with the background at unit gain, then one overall gain for the peak.
    gains = [float(np.sqrt(background_power * 10.0 ** (snr / 10.0) / power)) for *_, snr, power in drafts]
    unscaled = MixtureRecipe(
        events=tuple(MixtureEvent(d[0], d[1], d[2], d[3], d[4], d[5], g) for d, g in zip(drafts, gains)),
        background_index=background_index,
        background_offset=background_offset,
        background_gain=1.0,
        num_samples=num_samples,
    )
    stems, background_stem = render_float(unscaled, foreground, background, config.max_sources)
    scale = peak / np.max(np.abs(stems.sum(axis=0) + background_stem))
    return MixtureRecipe(
        events=tuple(
            MixtureEvent(e.label, e.clip_index, e.onset, e.clip_offset, e.length, e.snr_db, float(e.gain * scale))
            for e in unscaled.events
        ),
        background_index=background_index,
        background_offset=background_offset,
        background_gain=float(scale),
        num_samples=num_samples,
    )


def render_float(recipe: MixtureRecipe, foreground, background, max_sources: int) -> tuple:
    """Unquantised `(stems (max_sources, T) float64, background (T,) float64)`; slot i holds the
    i-th event's class (events are sorted by class, one event per class)."""
    if len(recipe.events) > max_sources:
        raise ValueError(f"recipe has {len(recipe.events)} events but only {max_sources} stem slots")
    stems = np.zeros((max_sources, recipe.num_samples))
    for slot, event in enumerate(recipe.events):
        clip = foreground.clip(event.clip_index)[event.clip_offset : event.clip_offset + event.length]
        stems[slot, event.onset : event.onset + event.length] += event.gain * clip.astype(np.float64)
    background_clip = background.clip(recipe.background_index).astype(np.float64)
    window = background_window(background_clip, recipe.background_offset, recipe.num_samples)
    background_stem = recipe.background_gain * window
    return stems, background_stem


def render_recipe(recipe: MixtureRecipe, foreground, background, max_sources: int = 5) -> RenderedMixture:
    """Render `recipe` on the 16-bit grid: each stem is quantised, the mixture is their exact sum."""
    stems, background_stem = render_float(recipe, foreground, background, max_sources)
    labels = np.full(max_sources, -1, dtype=np.int64)
    labels[: len(recipe.events)] = [e.label for e in recipe.events]
    to_pcm = lambda x: np.clip(np.round(x * PCM16_SCALE), -32768, 32767).astype(np.int16)
    return RenderedMixture(stems_pcm=to_pcm(stems), background_pcm=to_pcm(background_stem), stem_labels=labels)


class _MemoPool:
    """Decodes each clip of a pool at most once while one mixture is drawn and rendered."""

    def __init__(self, pool):
        self._pool, self._memo = pool, {}
        self.labels, self.lengths, self.clip_ids = pool.labels, pool.lengths, pool.clip_ids

    def __len__(self):
        return len(self._pool)

    def classes(self):
        return self._pool.classes()

    def indices_of_class(self, label):
        return self._pool.indices_of_class(label)

    def clip(self, index):
        if index not in self._memo:
            self._memo[index] = self._pool.clip(index)
        return self._memo[index]


def mix(rng: np.random.Generator, foreground, background, config: MixingConfig = DEFAULT_MIXING) -> tuple:
    """Draw a recipe and render it: `(MixtureRecipe, RenderedMixture)`, each clip decoded once."""
    foreground, background = _MemoPool(foreground), _MemoPool(background)
    recipe = draw_recipe(rng, foreground, background, config)
    return recipe, render_recipe(recipe, foreground, background, config.max_sources)


def presence_vector(stem_labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Multi-hot float32 `(num_classes,)` of the classes in `stem_labels` (-1 ignored)."""
    presence = np.zeros(num_classes, dtype=np.float32)
    presence[stem_labels[stem_labels >= 0]] = 1.0
    return presence


def measure_event_snrs(stems: np.ndarray, background: np.ndarray, onsets, lengths) -> np.ndarray:
    """SNR in dB of each used stem slot, measured as the module docstring defines it."""
    reference = _power(background)
    return np.array(
        [
            10 * np.log10(_power(stems[slot, onset : onset + length]) / reference)
            for slot, (onset, length) in enumerate(zip(onsets, lengths))
        ]
    )
