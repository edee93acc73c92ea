"""Synthetic urban-like backgrounds, stand-ins for TAU Urban Acoustic Scenes (paper Section 4.1).

Each background is a shaped noise floor (brown-to-pink, -4 to -6 dB/octave, low-passed) plus a
random mix of: passing vehicles (low-passed noise and engine harmonics under slow swells),
crowd babble (4-6 espeak-ng voices, low-passed at ~3 kHz), and GM ambience (seashore,
helicopter, breath noise); sometimes in a synthetic room (decaying-noise reverb, RT60
0.2-0.8 s). Filtering is done in the frequency domain with numpy.
"""

import numpy as np

from modeling_qrtse.resampling_qrtse import resample

from ...audio_io import SAMPLE_RATE
from . import babble
from .soundfont import Note

AMBIENCE_PRESETS = {"seashore": 122, "helicopter": 125, "breath_noise": 121}
COMPONENTS = ("vehicles", "babble", "ambience")


def _rms_normalise(x: np.ndarray) -> np.ndarray:
    rms = np.sqrt(np.mean(x**2))
    return x / rms if rms > 0 else x


def shape_spectrum(x: np.ndarray, slope_db_per_octave=0.0, lowpass_hz=None, highpass_hz=20.0, order=2):
    """Zero-phase filtering: a spectral tilt, Butterworth-like low-pass and high-pass magnitudes."""
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    freqs[0] = freqs[1]
    gain = (freqs / 1000.0) ** (slope_db_per_octave / (20 * np.log10(2)))
    if lowpass_hz:
        gain /= np.sqrt(1 + (freqs / lowpass_hz) ** (2 * order))
    if highpass_hz:
        gain /= np.sqrt(1 + (highpass_hz / freqs) ** (2 * order))
    return np.fft.irfft(spectrum * gain, len(x))


def noise_floor(rng, n: int) -> np.ndarray:
    slope, cutoff = rng.uniform(-6.0, -4.0), rng.uniform(500, 4000)
    return _rms_normalise(shape_spectrum(rng.standard_normal(n), slope, cutoff))


def vehicles(rng, n: int) -> np.ndarray:
    """1-4 passing vehicles: noise and engine harmonics under Gaussian swells 1-5 s wide."""
    t = np.arange(n) / SAMPLE_RATE
    out = np.zeros(n)
    for _ in range(int(rng.integers(1, 5))):
        centre, width = rng.uniform(-1, n / SAMPLE_RATE + 1), rng.uniform(0.5, 2.5)
        envelope = np.exp(-0.5 * ((t - centre) / width) ** 2)
        rumble = _rms_normalise(shape_spectrum(rng.standard_normal(n), rng.uniform(-6, -3), rng.uniform(300, 1500)))
        # Engine: harmonics of a fundamental that drops as the vehicle passes (Doppler-like).
        f0 = rng.uniform(25, 70) * (1 + 0.04 * np.tanh(-(t - centre) / width))
        phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
        engine = sum(np.sin(h * phase + rng.uniform(0, 2 * np.pi)) / h for h in range(1, 7))
        out += envelope * (rumble + rng.uniform(0.2, 1.0) * _rms_normalise(engine)) * rng.uniform(0.5, 2.0)
    return _rms_normalise(out)


def crowd_babble(rng, n: int) -> np.ndarray:
    """4-6 espeak-ng voices talking with pauses, low-passed at ~3 kHz."""
    # About 2-4 s per sentence: enough sentences to fill the background; the rest go unused.
    num_sentences = n // SAMPLE_RATE // 2 + 2
    tracks = [
        {
            "voice": str(rng.choice(babble.VOICES)),
            "rate_wpm": int(rng.integers(130, 220)),
            "pitch": int(rng.integers(25, 75)),
            "pitch_range": int(rng.integers(30, 80)),
            "sentences": [babble.random_sentence(rng, int(rng.integers(4, 12))) for _ in range(num_sentences)],
        }
        for _ in range(int(rng.integers(4, 7)))
    ]
    out = np.zeros(n)
    for track, (utterances, rate) in zip(tracks, babble.speak_voices(tracks)):
        position = int(rng.uniform(-1.0, 1.5) * SAMPLE_RATE)
        level = 10 ** (rng.uniform(-8, 0) / 20)
        for speech in utterances:
            if position >= n:
                break
            speech = resample(speech, rate, SAMPLE_RATE)
            start, stop = max(position, 0), min(position + len(speech), n)
            if stop > start:
                out[start:stop] += level * speech[start - position : stop - position]
            position += len(speech) + int(rng.uniform(0.2, 1.2) * SAMPLE_RATE)
    return _rms_normalise(shape_spectrum(out, lowpass_hz=rng.uniform(2500, 3500), highpass_hz=100.0, order=4))


def ambience(rng, n: int, renderer) -> np.ndarray:
    """A GM ambience program held (and retriggered) for the whole background."""
    preset = AMBIENCE_PRESETS[str(rng.choice(list(AMBIENCE_PRESETS)))]
    seconds, notes, onset = n / SAMPLE_RATE, [], 0.0
    while onset < seconds:
        length = rng.uniform(2.0, 5.0)
        notes.append(Note(onset, int(rng.integers(48, 73)), int(rng.integers(60, 128)), length))
        onset += length * rng.uniform(0.7, 0.95)  # overlap so the texture never drops out
    audio = renderer.render(notes, preset=preset, max_tail_s=0.5)
    audio = np.pad(audio, (0, max(0, n - len(audio))))[:n]
    return _rms_normalise(shape_spectrum(audio, lowpass_hz=rng.uniform(2000, 6000)))


def room_reverb(rng, x: np.ndarray) -> np.ndarray:
    """Convolve with exponentially decaying noise (RT60 0.2-0.8 s) and mix with the dry signal."""
    rt60 = rng.uniform(0.2, 0.8)
    t = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
    impulse = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
    impulse[0] = 1.0
    size = len(x) + len(impulse) - 1
    wet = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(impulse / np.sqrt(np.sum(impulse**2)), size), size)[: len(x)]
    mix = rng.uniform(0.2, 0.6)
    return (1 - mix) * x + mix * _rms_normalise(wet) * np.sqrt(np.mean(x**2))


def urban_background(rng, num_samples: int, renderer) -> tuple:
    """`(audio, components)`: one background of `num_samples` at 16 kHz and the names of what
    it contains."""
    chosen = [c for c in COMPONENTS if rng.random() < 0.5] or [str(rng.choice(COMPONENTS))]
    out = noise_floor(rng, num_samples) * 10 ** (rng.uniform(-15, 0) / 20)
    for component in chosen:
        if component == "vehicles":
            part = vehicles(rng, num_samples)
        elif component == "babble":
            part = crowd_babble(rng, num_samples)
        else:
            part = ambience(rng, num_samples, renderer)
        out += part * 10 ** (rng.uniform(-6, 0) / 20)
    if rng.random() < 0.5:
        out = room_reverb(rng, out)
        chosen.append("reverb")
    return out.astype(np.float32), ["noise floor"] + chosen
