"""Real-world augmentation of training mixtures: colouration, rooms and narrow-band recorders.

Rendered clips are dry and full-band, while users record with phones in rooms. Each augmented
mixture gets, in this order:

- **EQ** per foreground stem (each sound has its own source and microphone colour): a spectral
  tilt of up to +-`eq_db` across 50 Hz - 8 kHz plus one bell of up to +-`eq_db` at a log-uniform
  centre, one octave wide;
- **a room** shared by the foreground stems (they sound in the same room), with probability
  `reverb_probability`: an exponentially decaying noise tail with RT60 ~ U(`rt60_range`) after
  the direct path, at a direct-to-reverberant ratio ~ U(`drr_db_range`). The target *is* the
  reverberant stem (what a listener asking for "the dog" in that room hears);
- **a band limit** shared by everything, background included, with probability
  `bandlimit_probability`: a brick-wall low-pass at ~ U(`cutoff_hz_range`) (8 kHz and 11 kHz
  recorders, lossy codecs' usual cut-off).

The stems stay the exact decomposition of the mixture (`mixture = stems.sum(0) + background`,
float32) and the peak stays <= 0.9. The 16-bit exactness of the stored splits does not apply:
augmentation runs only on training batches, after the crop (half the FFT work of the full 6 s
mixture), never in validation or test.
"""

from dataclasses import dataclass

import numpy as np
import scipy.fft
import torch

from .audio_io import SAMPLE_RATE

_MAX_PEAK = 0.9


@dataclass(frozen=True)
class AugmentationConfig:
    """How often and how strongly training mixtures are augmented (module docstring).

    Args:
        probability (`float`, defaults to 0.5): share of mixtures augmented at all; the rest stay
            as rendered, so the model keeps seeing clean mixtures.
        eq_db (`float`, defaults to 6.0): largest tilt and bell gain, in dB.
        reverb_probability (`float`, defaults to 0.5): share of augmented mixtures in a room.
        rt60_range (`tuple`, defaults to (0.15, 0.8)): reverberation time in seconds.
        drr_db_range (`tuple`, defaults to (0.0, 12.0)): direct-to-reverberant energy ratio in dB.
        bandlimit_probability (`float`, defaults to 0.25): share of augmented mixtures band-limited.
        cutoff_hz_range (`tuple`, defaults to (3500.0, 7500.0)): low-pass cut-off in Hz.
    """

    probability: float = 0.5
    eq_db: float = 6.0
    reverb_probability: float = 0.5
    rt60_range: tuple = (0.15, 0.8)
    drr_db_range: tuple = (0.0, 12.0)
    bandlimit_probability: float = 0.25
    cutoff_hz_range: tuple = (3500.0, 7500.0)

    def __post_init__(self):
        for name in ("probability", "reverb_probability", "bandlimit_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if self.eq_db < 0:
            raise ValueError(f"eq_db must be >= 0, got {self.eq_db}")
        for name in ("rt60_range", "drr_db_range", "cutoff_hz_range"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name} must be (low, high), got {(low, high)}")
        if self.rt60_range[0] <= 0:
            raise ValueError(f"rt60_range must be positive, got {self.rt60_range}")
        if not 0 < self.cutoff_hz_range[0] <= self.cutoff_hz_range[1] < SAMPLE_RATE / 2:
            raise ValueError(f"cutoff_hz_range must lie in (0, {SAMPLE_RATE // 2}) Hz, got {self.cutoff_hz_range}")


def _octaves(frequencies: np.ndarray) -> np.ndarray:
    return np.log2(np.maximum(frequencies, 50.0) / 50.0)


def eq_gain(rng: np.random.Generator, frequencies: np.ndarray, eq_db: float, octaves=None) -> np.ndarray:
    """A random linear-amplitude EQ curve over `frequencies` (Hz): tilt plus one bell. Drawn on
    a 1/24-octave grid and interpolated: the curve is smooth, the FFT grid is 30k points.
    `octaves` is `frequencies` on the curve's axis, when the caller has it already."""
    span = _octaves(np.array(8000.0))
    grid = np.linspace(0.0, _octaves(np.array(SAMPLE_RATE / 2)), 200)
    tilt_db = rng.uniform(-eq_db, eq_db) * (np.minimum(grid, span) / span - 0.5) * 2
    centre = rng.uniform(_octaves(np.array(150.0)), _octaves(np.array(6000.0)))
    bell_db = rng.uniform(-eq_db, eq_db) * np.exp(-0.5 * ((grid - centre) / 0.5) ** 2)
    octaves = _octaves(frequencies) if octaves is None else octaves
    return np.interp(octaves, grid, 10.0 ** ((tilt_db + bell_db) / 20.0))


def room_impulse_response(rng: np.random.Generator, rt60_s: float, drr_db: float) -> np.ndarray:
    """Unit direct path followed by an exponentially decaying noise tail (-60 dB at `rt60_s`)
    whose energy is `drr_db` below the direct path's."""
    length = int(rt60_s * SAMPLE_RATE)
    t = np.arange(1, length) / SAMPLE_RATE
    tail = rng.standard_normal(length - 1) * np.exp(-6.9078 * t / rt60_s)
    tail *= np.sqrt(10.0 ** (-drr_db / 10.0) / np.sum(tail**2))
    return np.concatenate([[1.0], tail])


def _filter(signals: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Each row of `signals` through the linear (not circular) filter whose spectrum on the
    `2 * (len(response) - 1)`-point grid is `response`, cut to the input length."""
    size = 2 * (response.shape[-1] - 1)
    return scipy.fft.irfft(scipy.fft.rfft(signals, size) * response, size)[..., : signals.shape[-1]]


def augment(rng: np.random.Generator, stems: np.ndarray, background: np.ndarray, config: AugmentationConfig) -> tuple:
    """`(stems, background)` augmented as the module docstring says, float32, or the inputs
    unchanged for the `1 - probability` share of draws. `stems` is `(slots, T)`, zero rows unused."""
    if rng.uniform() >= config.probability:
        return stems, background
    # Every step is a linear filter: one spectrum per stem, one FFT pair each. Zero-padding to
    # the input plus the longest room keeps the room's tail from wrapping round.
    length = stems.shape[-1]
    size = scipy.fft.next_fast_len(length + int(config.rt60_range[1] * SAMPLE_RATE), real=True)
    frequencies = np.fft.rfftfreq(size, 1.0 / SAMPLE_RATE)
    used = np.flatnonzero(np.any(stems != 0, axis=-1))
    # float32 FFTs: twice as fast, and far more precise than the 16-bit clips they filter.
    octaves = _octaves(frequencies)
    # An item may have no active stem (an inactive sample): then only the background is filtered.
    curves = [eq_gain(rng, frequencies, config.eq_db, octaves) for _ in used]
    responses = np.array(curves, dtype=np.complex64).reshape(len(used), len(frequencies))
    if rng.uniform() < config.reverb_probability:
        room = room_impulse_response(rng, rng.uniform(*config.rt60_range), rng.uniform(*config.drr_db_range))
        responses *= scipy.fft.rfft(room.astype(np.float32), size)
    band = np.ones(len(frequencies), dtype=np.float32)
    if rng.uniform() < config.bandlimit_probability:
        band = (frequencies <= rng.uniform(*config.cutoff_hz_range)).astype(np.float32)
    stems = stems.astype(np.float32)
    stems[used] = _filter(stems[used], responses * band)
    if band.min() < 1.0:
        background = _filter(background.astype(np.float32), band)
    peak = np.max(np.abs(stems.sum(axis=0) + background))
    if peak > _MAX_PEAK:
        stems, background = stems * np.float32(_MAX_PEAK / peak), background * np.float32(_MAX_PEAK / peak)
    return stems.astype(np.float32), background.astype(np.float32)


def augment_batch(batch: dict, rng: np.random.Generator, config: AugmentationConfig) -> dict:
    """A training batch (`stems` (B, S, T), `background` (B, T), `input_values` (B, T)) with each
    item augmented by `augment` and its mixture re-summed; other keys are passed through."""
    augmented = dict(batch)
    stems, background = batch["stems"].numpy(), batch["background"].numpy()
    items = [augment(rng, stems[i], background[i], config) for i in range(len(stems))]
    new_stems, new_background = np.stack([item[0] for item in items]), np.stack([item[1] for item in items])
    augmented["stems"], augmented["background"] = torch.from_numpy(new_stems), torch.from_numpy(new_background)
    augmented["input_values"] = torch.from_numpy(new_stems.sum(axis=1) + new_background)
    return augmented
