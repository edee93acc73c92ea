import numpy as np
import pytest
import torch

from modeling_qrtse import QrtseFeatureExtractor


@pytest.fixture
def extractor():
    return QrtseFeatureExtractor()


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_resamples_to_the_model_rate(extractor, rate):
    seconds = 0.5
    t = np.arange(int(rate * seconds)) / rate
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    values = extractor(tone, sampling_rate=rate, return_tensors="np")["input_values"][0]
    assert values.dtype == np.float32 and len(values) == int(16000 * seconds)
    # Still a 440 Hz tone after resampling.
    spectrum = np.abs(np.fft.rfft(values))
    assert abs(np.argmax(spectrum) * 16000 / len(values) - 440) < 4


@pytest.mark.parametrize("layout", ["time_channels", "channels_time"])
def test_multichannel_is_averaged(extractor, layout):
    left, right = np.ones(1000, np.float32), -0.5 * np.ones(1000, np.float32)
    stereo = np.stack([left, right], axis=1 if layout == "time_channels" else 0)
    values = extractor(stereo, sampling_rate=16000, return_tensors="np")["input_values"][0]
    assert np.allclose(values, 0.25)


@pytest.mark.parametrize("dtype, full_scale", [(np.int16, 32767), (np.int32, 2**31 - 1)])
def test_integer_pcm_is_scaled(extractor, dtype, full_scale):
    pcm = np.array([0, full_scale, -full_scale - 1], dtype=dtype)
    values = extractor(pcm, sampling_rate=16000, return_tensors="np")["input_values"][0]
    assert values.dtype == np.float32
    assert np.allclose(values, [0.0, 1.0, -1.0], atol=1e-4)


def test_batch_is_padded_with_attention_mask(extractor):
    batch = extractor([np.ones(100), np.ones(250)], sampling_rate=16000, return_tensors="pt")
    assert tuple(batch["input_values"].shape) == (2, 250)
    assert batch["attention_mask"].sum(-1).tolist() == [100, 250]
    assert float(batch["input_values"][0, 100:].abs().max()) == 0.0


@pytest.mark.parametrize(
    "audio, message",
    [(np.array([], np.float32), "empty"), (np.array([0.0, np.nan]), "NaN"), (np.zeros((2, 2, 2)), "1-D")],
)
def test_bad_audio(extractor, audio, message):
    with pytest.raises(ValueError, match=message):
        extractor(audio, sampling_rate=16000)


@pytest.mark.parametrize(
    "audio, message",
    [
        (np.ones(100, np.complex128), "real-valued"),
        (np.ones(100, bool), "dtype bool"),
        (np.ones(100, np.int64), "dtype int64"),
        (np.ones(100, np.uint16), "dtype uint16"),
        (np.array(["0.1"] * 100), "dtype <U3"),
    ],
)
def test_non_audio_dtypes_are_refused(extractor, audio, message):
    with pytest.raises(ValueError, match=message):
        extractor(audio, sampling_rate=16000)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float64])
def test_float_tensors_of_any_precision(extractor, dtype):
    audio = torch.linspace(-0.5, 0.5, 100)
    values = extractor(audio.to(dtype), sampling_rate=16000, return_tensors="np")["input_values"][0]
    assert values.dtype == np.float32
    np.testing.assert_allclose(values, audio.to(dtype).float().numpy())


def test_stereo_pcm_is_scaled_before_it_is_averaged(extractor):
    pcm = np.stack([np.full(100, 16384), np.full(100, -8192)], axis=1).astype(np.int16)
    values = extractor(pcm, sampling_rate=16000, return_tensors="np")["input_values"][0]
    np.testing.assert_allclose(values, 0.125)
