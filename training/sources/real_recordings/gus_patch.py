"""Reading Gravis UltraSound patches (`.pat`, the format of Debian's `freepats`).

A patch holds one instrument as a few recorded notes ("waves"), each covering a key range. Only
what a clip needs is read: each wave's PCM data, sample rate and root frequency. Layout (all
little-endian): a 129-byte file header, a 63-byte instrument header and a 47-byte layer header,
then per wave a 96-byte header followed by its data. Stereo patches and several instruments per
file do not occur in freepats and are refused.
"""

import struct
from dataclasses import dataclass

import numpy as np

MAGICS = (b"GF1PATCH110\x00", b"GF1PATCH100\x00")
FILE_HEADER, INSTRUMENT_HEADER, LAYER_HEADER, WAVE_HEADER = 129, 63, 47, 96
MODE_16_BIT, MODE_UNSIGNED, MODE_LOOPING = 0x01, 0x02, 0x04


@dataclass
class PatchWave:
    """One recorded note of a patch: mono float32 in [-1, 1] at `sample_rate`; `loop` is the
    sustain loop `(start, end)` in samples, or None for a one-shot wave."""

    name: str
    audio: np.ndarray
    sample_rate: int
    root_hz: float
    loop: tuple | None = None

    def note(self, seconds: float) -> np.ndarray:
        """The wave played as a sampler plays it: attack, then the sustain loop repeated until
        `seconds` (a one-shot wave is returned whole)."""
        target = int(seconds * self.sample_rate)
        if self.loop is None or len(self.audio) >= target:
            return self.audio
        start, end = self.loop
        repeats = -(-(target - start) // (end - start))
        return np.concatenate([self.audio[:start], np.tile(self.audio[start:end], repeats)])[:target]


def read_gus_patch(data: bytes, name="patch") -> list:
    """The waves of a GUS patch file's bytes; ValueError naming `name` if it is not one."""
    if data[:12] not in MAGICS:
        raise ValueError(f"{name} is not a GUS patch (no GF1PATCH header)")
    if len(data) < FILE_HEADER + INSTRUMENT_HEADER + LAYER_HEADER:
        raise ValueError(f"{name} is truncated")
    instruments, _voices, channels, num_waves = struct.unpack_from("<BBBH", data, 82)
    if instruments > 1 or channels > 1:
        raise ValueError(
            f"{name}: {instruments} instruments / {channels} channels, only mono single-instrument patches are read"
        )
    offset = FILE_HEADER + INSTRUMENT_HEADER + LAYER_HEADER
    waves = []
    for index in range(num_waves):
        if offset + WAVE_HEADER > len(data):
            raise ValueError(f"{name} is truncated in wave {index}")
        wave_name = data[offset : offset + 7].split(b"\x00")[0].decode("latin-1")
        size, loop_start, loop_end = struct.unpack_from("<III", data, offset + 8)
        (sample_rate,) = struct.unpack_from("<H", data, offset + 20)
        (root_millihz,) = struct.unpack_from("<I", data, offset + 30)
        mode = data[offset + 55]
        start = offset + WAVE_HEADER
        if start + size > len(data) or sample_rate == 0:
            raise ValueError(f"{name} is truncated or corrupt in wave {index}")
        audio = decode_wave(data[start : start + size], mode)
        width = 2 if mode & MODE_16_BIT else 1
        loop = (loop_start // width, min(loop_end // width, len(audio)))
        looping = mode & MODE_LOOPING and loop[1] - loop[0] > 0
        waves.append(
            PatchWave(wave_name or f"wave{index}", audio, sample_rate, root_millihz / 1000, loop if looping else None)
        )
        offset = start + size
    return waves


def decode_wave(raw: bytes, mode: int) -> np.ndarray:
    """PCM bytes of one wave as float32 in [-1, 1] (8 or 16 bit, signed or unsigned)."""
    if mode & MODE_16_BIT:
        values = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<u2" if mode & MODE_UNSIGNED else "<i2")
        centre, scale = (32768.0 if mode & MODE_UNSIGNED else 0.0), 32768.0
    else:
        values = np.frombuffer(raw, dtype=np.uint8 if mode & MODE_UNSIGNED else np.int8)
        centre, scale = (128.0 if mode & MODE_UNSIGNED else 0.0), 128.0
    return ((values.astype(np.float32) - centre) / scale).astype(np.float32)
