"""Decoding the audio inputs a pipeline accepts, following AudioClassificationPipeline's conventions.

Shipped as remote code, so only numpy/torch are imported at module level; soundfile (decoding
files and bytes) is imported when first needed, with an error that says how to install it.
"""

import io
import os

import numpy as np
import torch

from .feature_extraction_qrtse import to_mono


def _soundfile():
    try:
        import soundfile
    except ImportError as error:  # pragma: no cover - soundfile is a dependency of the package
        raise ImportError("Decoding audio files or bytes needs soundfile: pip install soundfile") from error
    return soundfile


def decode_bytes(data: bytes, name: str = "audio bytes") -> tuple:
    """`(mono float32 array, sampling_rate)` from encoded audio (wav, flac, ogg, mp3: whatever
    libsndfile reads). Channels are averaged. Raises `ValueError` when the data cannot be decoded."""
    soundfile = _soundfile()
    try:
        audio, sampling_rate = soundfile.read(io.BytesIO(bytes(data)), dtype="float32", always_2d=True)
    except (RuntimeError, TypeError, ValueError) as error:
        raise ValueError(f"Could not decode {name} as audio: {error}") from error
    return to_mono(audio, channel_axis=1), int(sampling_rate)  # soundfile: (time, channels)


def read_file(path) -> tuple:
    """`(mono float32 array, sampling_rate)` of an audio file. `FileNotFoundError` when it does not
    exist, `ValueError` when it cannot be decoded."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Audio file not found: {path}")
    with open(path, "rb") as file:
        return decode_bytes(file.read(), name=f"file {path}")


def download(url: str) -> bytes:
    """The bytes behind an http(s) URL (standard library only, so no extra dependency)."""
    from urllib.request import urlopen

    with urlopen(url) as response:
        return response.read()


def is_hf_dataset(inputs) -> bool:
    """A `datasets.Dataset` / `IterableDataset`, recognised without importing datasets."""
    return type(inputs).__module__.startswith("datasets.") and hasattr(inputs, "column_names")


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
    extractor down-mixes them) and their dtype (integer PCM is scaled there).
    """
    if isinstance(inputs, os.PathLike):
        return read_file(inputs)
    if isinstance(inputs, str):
        if inputs.startswith(("http://", "https://")):
            return decode_bytes(download(inputs), name=inputs)
        return read_file(inputs)
    if isinstance(inputs, (bytes, bytearray, memoryview)):
        return decode_bytes(inputs)
    if torch.is_tensor(inputs):
        return inputs.detach().cpu().numpy(), default_sampling_rate
    if isinstance(inputs, np.ndarray):
        return inputs, default_sampling_rate
    if is_audio_decoder(inputs):
        samples = inputs.get_all_samples()
        # torchcodec returns (channels, time).
        return samples.data.mean(dim=0).cpu().numpy(), int(samples.sample_rate)
    if isinstance(inputs, dict):
        if "sampling_rate" in inputs and ("array" in inputs or "raw" in inputs):
            array = inputs["raw"] if inputs.get("raw") is not None else inputs["array"]
            array = array.detach().cpu().numpy() if torch.is_tensor(array) else np.asarray(array)
            return array, int(inputs["sampling_rate"])
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
