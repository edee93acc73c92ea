"""Decoding the audio inputs a pipeline accepts, following AudioClassificationPipeline's conventions.

Every encoded input (file, bytes, URL, datasets value) is checked from its header before any
sample is decoded, so that a small file declaring hours of many-channel audio is refused instead
of filling memory, and a truncated file is refused instead of being read in part. URLs are read
with a timeout and a size limit.

Shipped as remote code, so only numpy/torch are imported at module level; soundfile (decoding
files and bytes) is imported when first needed, with an error that says how to install it.
"""

import dataclasses
import importlib.util
import io
import numbers
import os
import re
import time

import numpy as np
import torch

from .feature_extraction_qrtse import to_mono, to_numpy

# Endings of the audio files libsndfile decodes: the files found in folders and patterns (`qrtse
# extract` on a folder, the training clip sources). What the command line writes is narrower
# (`modeling_qrtse.cli.output_files.WRITTEN_AUDIO_SUFFIXES`).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au")
# What extracting one input may raise for that input alone (bad, missing or undecodable audio, a
# bad query, a decoder's or resampler's error): drivers over many inputs (`qrtse extract` on a
# folder, `extract_dataset`) record it for that input and go on with the others.
INPUT_ERRORS = (ValueError, OSError, RuntimeError)
# What an input may declare in its header (checked before decoding). The duration bounds the
# model-rate arrays the pipeline holds (4 h at 16 kHz: 0.9 GB per float32 copy); the decoded size
# (every channel at the file's rate, float32) bounds what decoding itself allocates.
MAX_AUDIO_SECONDS = 4 * 3600.0
MAX_CHANNELS = 64
MAX_SAMPLING_RATE = 768_000
MAX_DECODED_BYTES = 2 * 2**30
# URL inputs: seconds allowed to connect and for each read, for the whole download, and the most
# bytes read. An encoded file of at most 32-bit PCM is no larger than its float32 decode, so every
# file within MAX_DECODED_BYTES downloads.
URL_TIMEOUT_S = 30.0
URL_TOTAL_TIMEOUT_S = 15 * 60.0
MAX_DOWNLOAD_BYTES = MAX_DECODED_BYTES
# An MP3's length is exact only from a Xing/Info header (libsndfile then logs a variable bitrate);
# without one it is estimated from the file size (tags included), so a shortfall says nothing.
# With one, a shortfall over this fraction is truncation. Every other format must decode in full.
MPEG_LENGTH_TOLERANCE = 0.01
# A WAV/AIFF data size at or above this is a placeholder written by streaming encoders, not a length.
_PLACEHOLDER_DATA_SIZE = 0x7FFFFFFF
_DECLARED_SIZE = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
_FILE_OBJECT_REPR = re.compile(r"\s*<_io\.\w+ object at 0x[0-9a-fA-F]+>:?")


class AudioDecodeError(ValueError):
    """An encoded input that libsndfile cannot decode (not audio, or a format it does not read)."""


def _soundfile():
    try:
        import soundfile
    except ImportError as error:  # pragma: no cover - soundfile is a dependency of the package
        raise ImportError("Decoding audio files or bytes needs soundfile: pip install soundfile") from error
    return soundfile


def check_sampling_rate(rate, what: str = "sampling_rate") -> int:
    """`rate` as an int. `ValueError` unless it is a whole number of Hz in [1, MAX_SAMPLING_RATE]
    (an int, a numpy integer or an integral float; a bool is not a rate)."""
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, numbers.Real):
        raise ValueError(f"{what} must be a positive whole number of Hz, got {rate!r}")  # noqa: TRY004 (every bad input is a ValueError for callers)
    if not (np.isfinite(rate) and float(rate).is_integer() and 1 <= rate <= MAX_SAMPLING_RATE):
        raise ValueError(f"{what} must be a whole number of Hz in [1, {MAX_SAMPLING_RATE}], got {rate!r}")
    return int(rate)


def truncation(info) -> str | None:
    """Why the header says the file is cut short (`soundfile.info`'s libsndfile log), else None."""
    for declared, actual in _DECLARED_SIZE.findall(info.extra_info or ""):
        if int(actual) < int(declared) < _PLACEHOLDER_DATA_SIZE:
            return f"its header declares {declared} bytes of audio but only {actual} are there"
    # Ogg (Vorbis, Opus): a cut stream lacks its end-of-stream mark or ends in a partial page.
    if re.search(r"ended unexpectedly|lacks an end-of-stream|Junk after the last page", info.extra_info or ""):
        return "the stream ends without its end-of-stream mark, or with an incomplete page"
    return None


def check_audio_header(
    info,
    name: str,
    max_seconds: float | None = None,
    max_channels: int | None = None,
    max_sampling_rate: int | None = None,
    max_decoded_bytes: int | None = None,
    too_long_advice: str = "split it into shorter files",
) -> None:
    """Refuse, from a header alone (`soundfile.info(...)`), audio that is truncated, empty, or
    over the limits: duration, channels, rate, decoded float32 size (None: this module's
    `MAX_AUDIO_SECONDS`, `MAX_CHANNELS`, `MAX_SAMPLING_RATE`, `MAX_DECODED_BYTES`). `name` says
    which input in the `ValueError`; `too_long_advice` ends the message for audio that is too long."""
    max_seconds = MAX_AUDIO_SECONDS if max_seconds is None else max_seconds
    max_channels = MAX_CHANNELS if max_channels is None else max_channels
    max_sampling_rate = MAX_SAMPLING_RATE if max_sampling_rate is None else max_sampling_rate
    max_decoded_bytes = MAX_DECODED_BYTES if max_decoded_bytes is None else max_decoded_bytes
    reason = truncation(info)
    if reason:
        raise ValueError(f"{name} is truncated: {reason}")
    if info.frames <= 0 or info.channels <= 0:
        raise ValueError(f"{name} is empty: it holds no audio samples")
    if not 1 <= info.samplerate <= max_sampling_rate:
        raise ValueError(
            f"{name} has a sample rate of {info.samplerate} Hz; at most {max_sampling_rate} Hz is accepted"
        )
    if info.channels > max_channels:
        raise ValueError(f"{name} has {info.channels} channels; at most {max_channels} are accepted")
    seconds = info.frames / info.samplerate
    if seconds > max_seconds:
        raise ValueError(f"{name} lasts {seconds:.0f} s; this accepts up to {max_seconds:.0f} s: {too_long_advice}")
    decoded = info.frames * info.channels * 4
    if decoded > max_decoded_bytes:
        raise ValueError(
            f"{name} decodes to {decoded / 2**20:.1f} MiB of samples ({info.channels} channels at "
            f"{info.samplerate} Hz); at most {max_decoded_bytes / 2**20:.1f} MiB is accepted: {too_long_advice}"
        )


def _reason(error) -> str:
    """libsndfile's own reason, without the repr of an in-memory file object."""
    text = getattr(error, "error_string", None) or str(error)
    return _FILE_OBJECT_REPR.sub("", text).strip()


def decode_audio(source, name: str, **limits) -> tuple:
    """`(mono float32 array, sampling_rate)` from a file path or the bytes of an encoded file
    (wav, flac, ogg, mp3: whatever libsndfile reads), after `check_audio_header` (`limits` are
    its keyword arguments). Channels are averaged. `ValueError` naming `name` when the input is
    truncated or over the limits, `AudioDecodeError` (a `ValueError`) when it cannot be decoded."""
    soundfile = _soundfile()

    def opened():
        return io.BytesIO(source) if isinstance(source, bytes) else source

    try:
        info = soundfile.info(opened())
    except (RuntimeError, TypeError, ValueError) as error:
        raise AudioDecodeError(f"Could not decode {name} as audio: {_reason(error)}") from error
    check_audio_header(info, name, **limits)
    try:
        audio, sampling_rate = soundfile.read(opened(), dtype="float32", always_2d=True)
    except (RuntimeError, TypeError, ValueError) as error:
        raise AudioDecodeError(f"Could not decode {name} as audio: {_reason(error)}") from error
    tolerance = 0
    if info.format == "MP3" or info.subtype.startswith("MPEG_"):
        estimated = re.search(r"bitrate mode\s*:\s*constant", info.extra_info or "")
        tolerance = info.frames if estimated else MPEG_LENGTH_TOLERANCE * info.frames
    if len(audio) < info.frames - tolerance:
        raise ValueError(f"{name} is truncated: its header declares {info.frames} frames but only {len(audio)} decode")
    return to_mono(audio, channel_axis=1), int(sampling_rate)  # soundfile: (time, channels)


def decode_bytes(data: bytes, name: str | None = None) -> tuple:
    """`decode_audio` of in-memory encoded audio; `name` (default: "audio bytes (N bytes)")
    labels it in errors."""
    data = bytes(data)
    return decode_audio(data, name or f"audio bytes ({len(data)} bytes)")


def read_file(path, name: str | None = None, **limits) -> tuple:
    """`(mono float32 array, sampling_rate)` of an audio file (`decode_audio`; `name` labels it
    in errors, default "file PATH"). `FileNotFoundError` when it does not exist,
    `IsADirectoryError` for a folder, `ValueError` when it cannot be decoded or is over the limits."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a folder, not an audio file")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Audio file not found: {path}")
    return decode_audio(path, name or f"file {path}", **limits)


def download(url: str, timeout: float | None = None, max_bytes: int | None = None, total_timeout=None) -> bytes:
    """The bytes behind an http(s) URL (standard library only, so no extra dependency).
    `ValueError` when the server does not answer within `timeout` seconds (to connect, or between
    two reads), the download takes over `total_timeout` seconds, the body exceeds `max_bytes`, or
    the request fails. None: this module's `URL_TIMEOUT_S`, `MAX_DOWNLOAD_BYTES`, `URL_TOTAL_TIMEOUT_S`."""
    from urllib.error import HTTPError, URLError
    from urllib.request import urlopen

    timeout = URL_TIMEOUT_S if timeout is None else timeout
    max_bytes = MAX_DOWNLOAD_BYTES if max_bytes is None else max_bytes
    total_timeout = URL_TOTAL_TIMEOUT_S if total_timeout is None else total_timeout
    deadline = time.monotonic() + total_timeout
    chunks, size = [], 0
    try:
        with urlopen(url, timeout=timeout) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise ValueError(f"{url} is {int(declared)} bytes; at most {max_bytes} bytes are downloaded")
            while chunk := response.read1(2**20):
                size += len(chunk)
                if size > max_bytes:
                    raise ValueError(f"{url} is larger than {max_bytes} bytes, the most that is downloaded")
                if time.monotonic() > deadline:
                    raise ValueError(f"{url} took over {total_timeout:.0f} s to download")
                chunks.append(chunk)
    except (URLError, OSError) as error:
        # A read timeout is raised as it is; a connect timeout arrives wrapped in URLError.
        timed_out = isinstance(error, TimeoutError) or isinstance(getattr(error, "reason", None), TimeoutError)
        reason = error if isinstance(error, HTTPError) else getattr(error, "reason", None) or error
        message = f"{url} did not answer within {timeout:g} s" if timed_out else f"Could not download {url}: {reason}"
        raise ValueError(message) from error
    return b"".join(chunks)


def is_hf_dataset(inputs) -> bool:
    """A `datasets.Dataset` / `IterableDataset`, recognised without importing datasets."""
    return type(inputs).__module__.startswith("datasets.") and hasattr(inputs, "column_names")


def is_hf_column(inputs) -> bool:
    """A `datasets` column (`dataset["audio"]`: a `Column` or an `IterableColumn`)."""
    return type(inputs).__module__.startswith("datasets.") and type(inputs).__name__ in ("Column", "IterableColumn")


def _decoded_audio(feature) -> bool:
    return type(feature).__name__ == "Audio" and bool(getattr(feature, "decode", False))


def undecoded_audio(inputs):
    """A `datasets` Dataset / IterableDataset / Column whose decoded `Audio()` columns are read
    undecoded (`{"bytes", "path"}`, which soundfile decodes here) when torchcodec, which datasets
    needs to decode audio, is not installed. With torchcodec, or without such columns, `inputs`."""
    if importlib.util.find_spec("torchcodec") is not None:
        return inputs
    if is_hf_column(inputs):
        source, column = getattr(inputs, "source", None), getattr(inputs, "column_name", None)
        if not is_hf_dataset(source):  # a nested column: read as it is
            return inputs
        feature = dict(source.features or {}).get(column)
        return undecoded_audio(source)[column] if _decoded_audio(feature) else inputs
    for column, feature in dict(getattr(inputs, "features", None) or {}).items():
        if _decoded_audio(feature):
            inputs = inputs.cast_column(column, dataclasses.replace(feature, decode=False))
    return inputs


def is_audio_decoder(inputs) -> bool:
    """A torchcodec `AudioDecoder` (what a datasets 5 audio column holds), recognised by its
    method so that torchcodec never has to be imported here."""
    return callable(getattr(inputs, "get_all_samples", None))


def load_audio(inputs, default_sampling_rate: int) -> tuple:
    """Return `(array, sampling_rate)` for one pipeline input.

    - `str`: a file path or an http(s) URL; `os.PathLike`: a file path; `bytes`: an encoded file;
    - `np.ndarray` / `torch.Tensor`: raw samples at `default_sampling_rate` (the model rate);
    - `dict` with `"sampling_rate"` and `"array"` or `"raw"`: raw samples at that rate;
    - `dict` with `"bytes"` and/or `"path"` (a datasets `Audio(decode=False)` value);
    - a torchcodec `AudioDecoder` (a decoded datasets 5 audio value).

    Decoded files are down-mixed to mono here; raw arrays keep their channels (the feature
    extractor down-mixes them) and their dtype (integer PCM is scaled there; a torch float type
    numpy lacks, such as bfloat16, becomes float32 here).
    """
    if isinstance(inputs, os.PathLike):
        return read_file(inputs)
    if isinstance(inputs, str):
        if inputs.startswith(("http://", "https://")):
            return decode_bytes(download(inputs), name=inputs)
        return read_file(inputs)
    if isinstance(inputs, (bytes, bytearray, memoryview)):
        return decode_bytes(inputs)
    if torch.is_tensor(inputs) or isinstance(inputs, np.ndarray):
        return to_numpy(inputs), default_sampling_rate
    if is_audio_decoder(inputs):
        samples = inputs.get_all_samples()
        # torchcodec returns (channels, time).
        return to_numpy(samples.data.mean(dim=0)), check_sampling_rate(samples.sample_rate)
    if isinstance(inputs, dict):
        if "sampling_rate" in inputs and ("array" in inputs or "raw" in inputs):
            array = inputs["raw"] if inputs.get("raw") is not None else inputs["array"]
            return to_numpy(array), check_sampling_rate(inputs["sampling_rate"])
        if inputs.get("bytes") is not None:
            return decode_bytes(inputs["bytes"], name=f"bytes of {inputs.get('path') or 'audio'}")
        if inputs.get("path") is not None:
            return read_file(inputs["path"])
        raise ValueError(
            "An audio dict needs 'sampling_rate' with 'array' or 'raw' (raw samples), or 'bytes' / "
            f"'path' (an encoded file); got keys {sorted(inputs)}"
        )
    raise ValueError(
        "Audio input must be a path, URL, bytes, numpy array, torch tensor, dict or torchcodec "
        f"AudioDecoder; got {type(inputs).__name__}"
    )
