"""The one resampler (`resampling_qrtse`): soxr at HQ quality, float32 out."""

import numpy as np
import pytest
import soxr

from modeling_qrtse.resampling_qrtse import resample


@pytest.mark.parametrize("rate", [8000, 22050, 44100])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_resamples_with_soxr_hq_to_float32(rate, dtype):
    audio = np.random.default_rng(0).standard_normal(rate // 2).astype(dtype)
    out = resample(audio, rate, 16000)
    assert out.dtype == np.float32 and out.shape == (8000,)
    np.testing.assert_array_equal(out, soxr.resample(audio, rate, 16000, quality="HQ").astype(np.float32))


def test_same_rate_only_converts_to_float32():
    audio = np.linspace(-1, 1, 100)
    out = resample(audio, 16000, 16000)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, audio.astype(np.float32))
