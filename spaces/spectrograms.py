"""Spectrograms of the input mixture and the extracted audio, as one RGB image for `gr.Image`."""

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

FLOOR_DB = -90.0


def log_spectrogram(audio: np.ndarray, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    """`(frequencies, frames)` power in dB (Hann window), floored at FLOOR_DB."""
    audio = np.asarray(audio, dtype=np.float64)
    if len(audio) < n_fft:
        audio = np.pad(audio, (0, n_fft - len(audio)))
    frames = np.lib.stride_tricks.sliding_window_view(audio, n_fft)[::hop] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=-1)) ** 2
    return np.maximum(10 * np.log10(power.T + 1e-12), FLOOR_DB)


def spectrogram_image(mixture: np.ndarray, extracted: np.ndarray, sampling_rate: int) -> np.ndarray:
    """Two stacked spectrograms on one colour scale (so attenuation is visible), `(H, W, 3)` uint8."""
    spectra = [log_spectrogram(mixture), log_spectrogram(extracted)]
    top = max(float(s.max()) for s in spectra)
    # Figure + Agg canvas, not pyplot: no global state shared by concurrent requests, no display.
    figure = Figure(figsize=(8, 5), dpi=90)
    canvas = FigureCanvasAgg(figure)
    axes = figure.subplots(2, 1, sharex=True)
    duration = len(mixture) / sampling_rate
    for ax, spectrum, title in zip(axes, spectra, ("Input mixture", "Extracted")):
        image = ax.imshow(
            spectrum,
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=top - 80,
            vmax=top,
            extent=(0, duration, 0, sampling_rate / 2000),
        )
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("kHz")
    axes[-1].set_xlabel("time (s)")
    figure.colorbar(image, ax=list(axes), label="dB", shrink=0.9)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
