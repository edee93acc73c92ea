"""Finding the same recording shipped twice (e.g. one applause sample in two games): two clips
are one recording when their lengths agree within 2% and their waveforms correlate at >= 0.95
at some lag within 50 ms. Different takes of one instrument, or velocity layers of one drum,
stay far below that."""

import numpy as np
from scipy.signal import correlate

from ...audio_io import SAMPLE_RATE

LENGTH_TOLERANCE = 0.02
MIN_CORRELATION = 0.95
MAX_LAG_S = 0.05


def same_recording(a: np.ndarray, b: np.ndarray) -> bool:
    if abs(len(a) - len(b)) > LENGTH_TOLERANCE * max(len(a), len(b)):
        return False
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    if norm == 0:
        return False
    lags = int(MAX_LAG_S * SAMPLE_RATE)
    full = correlate(a.astype(np.float64), b.astype(np.float64), mode="full", method="fft")
    centre = len(b) - 1
    window = full[max(0, centre - lags) : centre + lags + 1]
    return float(np.max(np.abs(window)) / norm) >= MIN_CORRELATION
