"""Reading source clips and (de)coding stored audio on the 16-bit grid.

Everything the builder stores is 16 kHz (paper Section 4.1) PCM_16. Working on the 16-bit grid
end to end is what makes stored mixtures equal the sum of their stored stems *exactly*: every
value is k / 32768 for an integer k, and float32 adds such values without rounding.
"""

import io
import logging
from pathlib import Path

import numpy as np
import soundfile as sf

from modeling_qrtse.audio_inputs_qrtse import AUDIO_SUFFIXES, decode_bytes, read_file
from modeling_qrtse.resampling_qrtse import resample

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
PCM16_SCALE = 32768.0


def read_clip(path, sample_rate: int = SAMPLE_RATE, name=None) -> np.ndarray | None:
    """Read any file libsndfile decodes (any of `AUDIO_SUFFIXES`) as mono float32 at `sample_rate`.

    `path` is a file path or the file's bytes (then `name` labels it in warnings). Returns None,
    after a warning naming the file, when it cannot be decoded or holds no usable audio (empty,
    all zeros, NaN/inf). Callers skip such clips: mixing one in as silence would give a mixture
    labelled with a class it does not contain.
    """
    name = name if name is not None else path
    try:
        if isinstance(path, (bytes, bytearray)):
            audio, orig_sr = decode_bytes(path, name=str(name))
        else:
            audio, orig_sr = read_file(path)
    except (FileNotFoundError, ValueError) as error:
        logger.warning("Skipping unreadable clip %s: %s", name, error)
        return None
    return check_clip(resample(audio, orig_sr, sample_rate), name)


def check_clip(audio: np.ndarray, name) -> np.ndarray | None:
    """`audio` if it is finite and not silent, else None with a warning naming the clip."""
    if audio.size == 0:
        logger.warning("Skipping empty clip %s", name)
        return None
    if not np.all(np.isfinite(audio)):
        logger.warning("Skipping clip %s: it contains NaN or infinite samples", name)
        return None
    if not np.any(np.abs(audio) * PCM16_SCALE >= 1.0):
        logger.warning("Skipping silent clip %s", name)
        return None
    return audio


def list_audio_files(root) -> list:
    """Audio files under `root` (recursive), sorted so every run sees the same order."""
    root = Path(root)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def quantize_pcm16(audio: np.ndarray) -> np.ndarray:
    """Round float audio to the nearest 16-bit PCM value (`round(x * 32768)`), as int16."""
    return np.clip(np.round(np.asarray(audio, dtype=np.float64) * PCM16_SCALE), -32768, 32767).astype(np.int16)


def pcm16_to_float(pcm: np.ndarray) -> np.ndarray:
    """Inverse of `quantize_pcm16`: int16 -> float32 `k / 32768`, exactly."""
    return pcm.astype(np.float32) / np.float32(PCM16_SCALE)


def normalize_peak(audio: np.ndarray, peak: float = 0.9) -> np.ndarray:
    """Scale so that max |x| == `peak` (clips are stored loud to use the 16-bit range; the
    mixing gains set the level in a mixture)."""
    return audio * (peak / np.max(np.abs(audio)))


def encode_flac(pcm: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """FLAC (PCM_16) bytes of an int16 array of shape `(time,)` or `(time, channels)`.

    int16 input is written as is, so decoding gives back the same integers; libsndfile's own
    float -> int conversion is avoided because it scales by 32767, not 32768.
    """
    if pcm.dtype != np.int16:
        raise TypeError(f"encode_flac expects int16 samples, got {pcm.dtype}")
    buffer = io.BytesIO()
    sf.write(buffer, pcm, sample_rate, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def decode_pcm16(data: bytes) -> tuple:
    """`(int16 array, sample_rate)` from FLAC/WAV bytes; `(time,)` mono, `(time, channels)` else."""
    pcm, sample_rate = sf.read(io.BytesIO(data), dtype="int16", always_2d=False)
    return pcm, sample_rate


def decode_audio(data: bytes) -> tuple:
    """`(float32 array, sample_rate)` from FLAC/WAV bytes; values are exactly `k / 32768`."""
    pcm, sample_rate = decode_pcm16(data)
    return pcm16_to_float(pcm), sample_rate
