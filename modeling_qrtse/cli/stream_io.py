"""The audio streams of `qrtse stream`: WAV or raw PCM, read and written chunk by chunk, through
pipes as well as files.

A pipe cannot seek, and libsndfile reads a WAV's length before its samples, so the RIFF header
is parsed here, minimally: the `fmt ` chunk (16-bit PCM, 32- or 64-bit float; the
WAVE_FORMAT_EXTENSIBLE form too), every other chunk skipped, then the `data` chunk's samples up
to its length, or to the end of the stream where the length is unknown: 0 or 0xFFFFFFFF (what
ffmpeg writes to a pipe), RF64 without a `ds64` size. A length longer than the stream (sox's
placeholder on a pipe) simply ends with the stream. Raw input is s16le mono.

Samples leave as float32 mono (channels averaged, `feature_extraction_qrtse.to_mono`) and come
back as the input's container: WAV in the input's sample type (16-bit PCM, or 32-bit float for
float input; 16-bit samples scaled as libsndfile and `output_files.write_audio` do), raw s16le
for raw. A WAV written to a pipe keeps ffmpeg's unknown lengths; one written to a file gets its
lengths when the stream ends.

Input is read unbuffered (`open_unbuffered`), and a read of a pipe first waits for input in
slices of `WAIT_S` (`wait_for_input`): Ctrl-C's SIGINT may reach one of torch's threads rather
than the main one, and a main thread blocked in `read()` on a silent pipe would then only see it
when more input came. Between two slices Python runs its signal handlers, so Ctrl-C ends the
stream within `WAIT_S` even when the source has stopped sending.
"""

import io
import os
import select
import struct
from dataclasses import dataclass

import numpy as np

from modeling_qrtse.feature_extraction_qrtse import to_mono

SAMPLE_TYPES = {"pcm16": np.dtype("<i2"), "float32": np.dtype("<f4"), "float64": np.dtype("<f8")}
_WAV_SAMPLES = {(1, 16): "pcm16", (3, 32): "float32", (3, 64): "float64"}  # (format tag, bits)
_UNKNOWN_LENGTHS = (0, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF)
_SKIP_PIECE = 1 << 16
NOT_WAV = "the input is not a WAV stream (no RIFF/WAVE header); for raw s16le PCM pass --format raw"


@dataclass(frozen=True)
class PcmFormat:
    """What a stream holds: `container` "wav" or "raw", `samples` a key of `SAMPLE_TYPES`."""

    container: str
    samples: str
    channels: int
    sampling_rate: int

    @property
    def frame_bytes(self) -> int:
        return self.channels * SAMPLE_TYPES[self.samples].itemsize

    def describe(self) -> str:
        samples = {"pcm16": "16-bit PCM", "float32": "32-bit float", "float64": "64-bit float"}[self.samples]
        channels = "mono" if self.channels == 1 else f"{self.channels} channels down-mixed to mono"
        return f"{self.container.upper()} {samples}, {channels}, {self.sampling_rate} Hz"


WAIT_S = 0.1


def open_unbuffered(fd_or_path):
    """A raw (unbuffered) binary reader of a file descriptor (not closed with it) or a path: what
    `select` reports readable is then exactly what `read` returns, with no bytes hidden in a buffer."""
    if isinstance(fd_or_path, int):
        return open(fd_or_path, "rb", buffering=0, closefd=False)
    return open(fd_or_path, "rb", buffering=0)


def wait_for_input(stream) -> None:
    """Return once `stream` can be read without blocking (or at its end), checking for signals every
    `WAIT_S`; a no-op for buffered streams (their buffer may hold what select cannot see), streams
    without a file descriptor, and on Windows (where select takes sockets only)."""
    if os.name == "nt" or not isinstance(stream, io.FileIO):
        return
    while not select.select([stream], [], [], WAIT_S)[0]:
        pass  # back in Python between slices: a pending Ctrl-C raises KeyboardInterrupt here


def read_up_to(stream, size: int) -> bytes:
    """`size` bytes, fewer only at the end of the stream (a pipe may return less per read)."""
    pieces, missing = [], size
    while missing > 0:
        wait_for_input(stream)
        piece = stream.read(missing)
        if not piece:
            break
        pieces.append(piece)
        missing -= len(piece)
    return b"".join(pieces)


class PcmReader:
    """Reads `pcm_format` samples from `stream`, `data_bytes` of them (None: to its end)."""

    def __init__(self, stream, pcm_format: PcmFormat, data_bytes: int | None = None):
        self.stream = stream
        self.format = pcm_format
        self.remaining = data_bytes
        self.dropped_bytes = 0  # a last, incomplete sample frame

    def read(self, frames: int) -> np.ndarray | None:
        """The next `frames` samples as float32 mono, fewer at the end; None once it is reached."""
        size = frames * self.format.frame_bytes
        if self.remaining is not None:
            size = min(size, self.remaining)
        data = read_up_to(self.stream, size)
        if self.remaining is not None:
            self.remaining -= len(data)
        usable = len(data) - len(data) % self.format.frame_bytes
        self.dropped_bytes += len(data) - usable
        if usable == 0:
            return None
        samples = np.frombuffer(data[:usable], SAMPLE_TYPES[self.format.samples]).astype(np.float32)
        if self.format.samples == "pcm16":
            samples /= 32768.0  # as libsndfile reads 16-bit PCM
        samples = samples.reshape(-1, self.format.channels)
        return to_mono(samples, channel_axis=1) if self.format.channels > 1 else samples[:, 0]


def open_reader(stream, container: str, raw_sampling_rate: int) -> PcmReader:
    """A reader of `stream` ("wav": its header is read now; "raw": s16le mono at `raw_sampling_rate`)."""
    if container == "raw":
        return PcmReader(stream, PcmFormat("raw", "pcm16", 1, raw_sampling_rate))
    pcm_format, data_bytes = read_wav_header(stream)
    return PcmReader(stream, pcm_format, data_bytes)


def read_wav_header(stream) -> tuple[PcmFormat, int | None]:
    """The format and `data` length (None: unknown) of the WAV `stream`, read up to its samples."""
    riff = read_up_to(stream, 12)
    if len(riff) < 12 or riff[:4] not in (b"RIFF", b"RF64") or riff[8:12] != b"WAVE":
        raise ValueError(NOT_WAV)
    pcm_format, long_length = None, None
    while True:
        header = read_up_to(stream, 8)
        if len(header) < 8:
            raise ValueError("the WAV stream ends before its audio (no data chunk)")
        name, size = header[:4], int.from_bytes(header[4:], "little")
        if name == b"data":
            break
        if name in (b"fmt ", b"ds64"):
            if size > 1024:
                raise ValueError(f"malformed WAV stream: a {size}-byte {name.decode()!r} chunk")
            body = read_up_to(stream, size + size % 2)
            if len(body) < size:
                raise ValueError("the WAV stream ends inside its header")
            if name == b"fmt ":
                pcm_format = parse_fmt(body)
            elif size >= 16:
                long_length = int.from_bytes(body[8:16], "little")
        elif skip(stream, size + size % 2) < size:
            raise ValueError("the WAV stream ends inside its header")
    if pcm_format is None:
        raise ValueError("malformed WAV stream: no fmt chunk before the data")
    length = long_length if riff[:4] == b"RF64" else size
    return pcm_format, None if length is None or length in _UNKNOWN_LENGTHS else length


def skip(stream, size: int) -> int:
    """Skip `size` bytes of a chunk we do not read, in pieces: how many there were."""
    skipped = 0
    while skipped < size:
        piece = read_up_to(stream, min(_SKIP_PIECE, size - skipped))
        if not piece:
            break
        skipped += len(piece)
    return skipped


def parse_fmt(body: bytes) -> PcmFormat:
    if len(body) < 16:
        raise ValueError("malformed WAV stream: a short fmt chunk")
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
        tag = struct.unpack("<H", body[24:26])[0]
    samples = _WAV_SAMPLES.get((tag, bits))
    if samples is None:
        kind = {1: "PCM", 3: "float"}.get(tag, f"format {tag:#x}")
        raise ValueError(
            f"unsupported WAV samples ({bits}-bit {kind}): stream 16-bit PCM or 32-bit float, "
            "e.g. sox IN -b 16 -e signed-integer -t wav -"
        )
    if channels < 1 or rate < 1 or block_align != channels * bits // 8:
        raise ValueError(f"malformed WAV stream: {channels} channels, {rate} Hz, {block_align}-byte frames")
    return PcmFormat("wav", samples, channels, rate)


def to_pcm16(samples: np.ndarray) -> bytes:
    """s16le of float samples (clipped to full scale, scaled by 32767 as libsndfile does)."""
    return np.round(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


class RawWriter:
    """s16le mono to `sink` (a binary file object)."""

    def __init__(self, sink):
        self.sink = sink
        self.peak = 0.0

    def write(self, samples: np.ndarray) -> None:
        if samples.size:
            self.peak = max(self.peak, float(np.max(np.abs(samples))))
            self.sink.write(self._encode(samples))
            self.sink.flush()  # the next program in the pipe gets each chunk as it is ready

    def _encode(self, samples: np.ndarray) -> bytes:
        return to_pcm16(samples)

    def close(self) -> None:
        self.sink.flush()


class WavWriter(RawWriter):
    """Mono WAV of `samples` ("pcm16" or "float32") at `sampling_rate` to `sink`. The header says
    "length unknown" (0xFFFFFFFF, as ffmpeg on a pipe); with `seekable`, `close` writes the lengths."""

    def __init__(self, sink, sampling_rate: int, samples: str = "pcm16", seekable: bool = False):
        super().__init__(sink)
        self.samples, self.seekable, self.data_bytes = samples, seekable, 0
        width = 2 if samples == "pcm16" else 4
        if samples == "pcm16":
            fmt = struct.pack("<HHIIHH", 1, 1, sampling_rate, sampling_rate * width, width, 16)
            fact = b""
        else:  # IEEE float: an 18-byte fmt and a fact chunk, as libsndfile writes
            fmt = struct.pack("<HHIIHHH", 3, 1, sampling_rate, sampling_rate * width, width, 32, 0)
            fact = b"fact" + struct.pack("<II", 4, 0xFFFFFFFF)
        self.header = (
            b"RIFF\xff\xff\xff\xffWAVEfmt " + struct.pack("<I", len(fmt)) + fmt + fact + b"data\xff\xff\xff\xff"
        )
        self.width = width
        sink.write(self.header)

    def _encode(self, samples: np.ndarray) -> bytes:
        data = to_pcm16(samples) if self.samples == "pcm16" else samples.astype("<f4").tobytes()
        self.data_bytes += len(data)
        return data

    def close(self) -> None:
        if self.seekable and len(self.header) - 8 + self.data_bytes <= 0xFFFFFFFF:
            self.sink.seek(4)
            self.sink.write(struct.pack("<I", len(self.header) - 8 + self.data_bytes))
            if self.samples != "pcm16":
                self.sink.seek(len(self.header) - 12)
                self.sink.write(struct.pack("<I", self.data_bytes // self.width))
            self.sink.seek(len(self.header) - 4)
            self.sink.write(struct.pack("<I", self.data_bytes))
        super().close()
