"""Turns raw audio of any rate and channel count into the model's `input_values`."""

import numpy as np
from transformers import BatchFeature, SequenceFeatureExtractor
from transformers.utils import logging

from .resampling_qrtse import resample

logger = logging.get_logger(__name__)


def to_mono(audio: np.ndarray, channel_axis: int | None = None) -> np.ndarray:
    """Down-mix to mono by averaging channels: the one down-mix of the package (arrays, decoded
    files). Without `channel_axis`, a 2-D array's shorter axis is taken as the channel axis, so
    both `(time, channels)` (soundfile) and `(channels, time)` (torch) work."""
    audio = np.asarray(audio)
    if audio.ndim == 1:
        return audio
    if audio.ndim != 2:
        raise ValueError(f"audio must be 1-D (time) or 2-D (time x channels), got shape {audio.shape}")
    if channel_axis is None:
        channel_axis = 0 if audio.shape[0] < audio.shape[1] else 1
    return audio.mean(axis=channel_axis)


# Integer sample formats of PCM audio (8-bit PCM is unsigned in WAV, signed elsewhere). Other
# integer types are not a PCM format: scaling int64 by 2**63 would silently give near-silence.
PCM_DTYPES = (np.uint8, np.int8, np.int16, np.int32)


def to_numpy(audio) -> np.ndarray:
    """`audio` (array-like or torch tensor) as a numpy array. A torch float tensor becomes
    float32 first (numpy has no bfloat16); other types are kept for `to_float32` to judge."""
    if hasattr(audio, "detach") and hasattr(audio, "is_floating_point"):  # torch, not imported here
        audio = audio.detach().cpu()
        audio = audio.float() if audio.is_floating_point() else audio
        return audio.numpy()
    return np.asarray(audio)


def to_float32(audio: np.ndarray) -> np.ndarray:
    """Integer PCM (`PCM_DTYPES`) is scaled to [-1, 1); real floats become float32. Other dtypes
    raise `ValueError` rather than being converted with a loss nobody asked for: complex (the
    imaginary part would be dropped), bool, other integer types, strings and objects."""
    if np.iscomplexobj(audio):
        raise ValueError(
            f"audio must be real-valued, got a complex array ({audio.dtype}); pass its real part or magnitude"
        )
    if audio.dtype.type in PCM_DTYPES:
        info = np.iinfo(audio.dtype)
        offset = (info.max + 1 + info.min) // 2  # 128 for uint8 PCM, 0 for signed types
        return ((audio.astype(np.float64) - offset) / (info.max + 1 - offset)).astype(np.float32)
    if not np.issubdtype(audio.dtype, np.floating):
        raise ValueError(
            f"audio samples must be floats or 8/16/32-bit integer PCM, got dtype {audio.dtype}; "
            "convert them to float32 in [-1, 1]"
        )
    return audio.astype(np.float32)


class QrtseFeatureExtractor(SequenceFeatureExtractor):
    r"""
    Prepares mixtures for [`QrtseModel`]: down-mix to mono (channel mean), convert integer PCM to
    float32, resample with soxr to `sampling_rate`, pad a batch to its longest item and return an
    attention mask.

    Args:
        feature_size (`int`, *optional*, defaults to 1): Channels of the model input.
        sampling_rate (`int`, *optional*, defaults to 16000): The model's sample rate in Hz.
        padding_value (`float`, *optional*, defaults to 0.0): Value used to pad.
        return_attention_mask (`bool`, *optional*, defaults to `True`): Return the mask by default.
    """

    model_input_names = ["input_values", "attention_mask"]  # noqa: RUF012 (transformers reads this class attribute)

    def __init__(self, feature_size=1, sampling_rate=16000, padding_value=0.0, return_attention_mask=True, **kwargs):
        super().__init__(
            feature_size=feature_size,
            sampling_rate=sampling_rate,
            padding_value=padding_value,
            return_attention_mask=return_attention_mask,
            **kwargs,
        )

    def prepare(self, audio: np.ndarray, sampling_rate: int) -> np.ndarray:
        """One clip -> mono float32 at the model rate. Raises `ValueError` on NaN/Inf or empty audio."""
        audio = to_mono(to_float32(audio))  # scale PCM before averaging: a mean of int16 is float64
        if audio.size == 0:
            raise ValueError("audio is empty")
        if not np.isfinite(audio).all():
            raise ValueError("audio contains NaN or Inf")
        if sampling_rate != self.sampling_rate:
            audio = resample(audio, sampling_rate, self.sampling_rate)
        return audio

    def __call__(
        self,
        raw_audio: np.ndarray | list,
        sampling_rate: int | None = None,
        padding: bool | str = True,
        max_length: int | None = None,
        return_tensors: str | None = None,
        return_attention_mask: bool | None = None,
        **kwargs,
    ) -> BatchFeature:
        """`raw_audio`: one clip (1-D, or 2-D with channels) or a list of clips, at
        `sampling_rate` (assumed to be the model rate, with a warning, when omitted)."""
        if sampling_rate is None:
            logger.warning(
                f"No sampling_rate given to {type(self).__name__}; assuming {self.sampling_rate} Hz. "
                "Pass sampling_rate to avoid silent errors."
            )
            sampling_rate = self.sampling_rate
        is_batch = isinstance(raw_audio, (list, tuple)) and len(raw_audio) > 0 and np.ndim(raw_audio[0]) > 0
        clips = raw_audio if is_batch else [raw_audio]
        prepared = [self.prepare(to_numpy(clip), sampling_rate) for clip in clips]
        batch = BatchFeature({"input_values": prepared})
        return self.pad(
            batch,
            padding=padding,
            max_length=max_length,
            return_tensors=return_tensors,
            return_attention_mask=self.return_attention_mask
            if return_attention_mask is None
            else return_attention_mask,
        )
