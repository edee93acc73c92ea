"""Turning one labelled file into clips, as its manifest rule's `segment` says.

All clips come out mono float32 at 16 kHz; the clip pool trims, normalises and quantises them
later (`qrtse.training.clip_dataset`). A file that does not decode gives no clips and a warning.
"""

import logging
from pathlib import Path

import numpy as np

from modeling_qrtse.resampling_qrtse import resample

from ...audio_io import SAMPLE_RATE, check_clip, read_clip
from ..builtin.recordings import split_calls
from .gus_patch import read_gus_patch

logger = logging.getLogger(__name__)

MAX_WHOLE_S = 10.0
# A window (or call) quieter than this, relative to the file's loudest 20 ms, is left out.
SILENT_WINDOW_DB = -40.0
FRAME_S = 0.02


def file_clips(path: Path, segment: str, window_s: float = 3.0, note_s: float = 1.5) -> list:
    """The clips of the file at `path` (possibly none, after a warning)."""
    if segment == "patch":
        return patch_clips(path, note_s)
    audio = read_clip(path)
    if audio is None:
        return []
    if segment == "calls":
        return [c for c in split_calls(audio) if check_clip(c, path) is not None]
    if segment == "windows":
        return windows(audio, window_s)
    if segment == "whole":
        return windows(audio, MAX_WHOLE_S) if len(audio) > MAX_WHOLE_S * SAMPLE_RATE else [audio]
    raise ValueError(f"unknown segment {segment!r}")


def patch_clips(path: Path, note_s: float) -> list:
    try:
        waves = read_gus_patch(Path(path).read_bytes(), name=path)
    except (OSError, ValueError) as error:
        logger.warning("Skipping unreadable patch %s: %s", path, error)
        return []
    notes = (resample(w.note(note_s), w.sample_rate, SAMPLE_RATE) for w in waves)
    return [n for n in notes if check_clip(n, path) is not None]


def windows(audio: np.ndarray, window_s: float) -> list:
    """Consecutive `window_s` windows (the last one kept if at least half a window long),
    without those more than 40 dB below the file's loudest 20 ms frame."""
    size = int(window_s * SAMPLE_RATE)
    starts = range(0, max(1, len(audio) - size // 2), size)
    pieces = [audio[start : start + size] for start in starts]
    loudest = frame_level_db(audio).max()
    return [p for p in pieces if len(p) and frame_level_db(p).max() >= loudest + SILENT_WINDOW_DB]


def frame_level_db(audio: np.ndarray) -> np.ndarray:
    hop = int(FRAME_S * SAMPLE_RATE)
    padded = np.pad(audio, (0, -len(audio) % hop))
    return 10 * np.log10(np.mean(padded.reshape(-1, hop) ** 2, axis=1) + 1e-12)
