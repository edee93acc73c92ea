"""Turns raw audio of any rate and channel count into the model's `input_values`."""

import numpy as np
from transformers import BatchFeature, SequenceFeatureExtractor
from transformers.utils import logging

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


def to_float32(audio: np.ndarray) -> np.ndarray:
    """Integer PCM is scaled to [-1, 1); floats are kept as they are."""
    if np.issubdtype(audio.dtype, np.integer):
        info = np.iinfo(audio.dtype)
        offset = (info.max + 1 + info.min) // 2  # 128 for uint8 PCM, 0 for signed types
        return ((audio.astype(np.float64) - offset) / (info.max + 1 - offset)).astype(np.float32)
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
        audio = to_float32(to_mono(audio))
        if audio.size == 0:
            raise ValueError("audio is empty")
        if not np.isfinite(audio).all():
            raise ValueError("audio contains NaN or Inf")
        if sampling_rate != self.sampling_rate:
            import soxr  # only needed when the rate differs; kept out of module import for remote code

            audio = soxr.resample(audio, sampling_rate, self.sampling_rate, quality="HQ").astype(np.float32)
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
        prepared = [self.prepare(np.asarray(clip), sampling_rate) for clip in clips]
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
