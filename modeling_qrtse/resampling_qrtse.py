"""The one resampler of the package: inputs to the model rate, outputs to the rate asked for, the
Space's uploads and the training data's clips.

Shipped as remote code (the feature extractor uses it): numpy at module level; soxr is imported
when audio actually changes rate, with an error that says how to install it.
"""

import numpy as np


def resample(audio: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """`audio` (`(time,)` or `(time, channels)`) from `rate` to `target_rate` Hz as float32:
    band-limited, soxr at "HQ" quality; only converted to float32 when the rates agree."""
    if rate == target_rate:
        return audio.astype(np.float32)
    try:
        import soxr
    except ImportError as error:  # pragma: no cover - soxr is a dependency of the package
        raise ImportError("resampling needs soxr: pip install soxr") from error
    return soxr.resample(audio, rate, target_rate, quality="HQ").astype(np.float32)
