"""Every input form of AudioClassificationPipeline's conventions, at several rates and channel counts."""

import http.server
import importlib.util
import threading
from pathlib import Path

import numpy as np
import pytest
import soxr
import torch
from datasets import Audio, Dataset
from pipeline_helpers import noise, wav_bytes

from modeling_qrtse import TargetSoundExtractionPipeline

QUERY = ["Trumpet", "Bark"]


def reference(pipe, audio_16k):
    """What the model itself returns for a mono 16 kHz clip (one pass, default threshold)."""
    config = pipe.model.config
    query = torch.zeros(1, config.num_labels)
    query[0, [config.label2id[label] for label in QUERY]] = 1
    with torch.inference_mode():
        return pipe.model(torch.from_numpy(audio_16k)[None], query).extracted_values[0].numpy()


def test_task_builds_this_pipeline(tiny_pipeline):
    assert isinstance(tiny_pipeline, TargetSoundExtractionPipeline)


def test_numpy_at_model_rate_equals_the_model(tiny_pipeline):
    audio = noise(1.0)
    out = tiny_pipeline(audio, query=QUERY)
    assert set(out) >= {"audio", "sampling_rate", "query", "refined_query", "class_probabilities"}
    assert out["audio"].dtype == np.float32 and out["audio"].shape == audio.shape
    assert out["sampling_rate"] == 16000
    assert out["query"] == ["Bark", "Trumpet"]
    np.testing.assert_allclose(out["audio"], reference(tiny_pipeline, audio), atol=1e-6)
    probabilities = list(out["class_probabilities"].values())
    assert len(probabilities) == 41 and probabilities == sorted(probabilities, reverse=True)


def test_torch_tensor_equals_numpy(tiny_pipeline):
    audio = noise(0.5)
    expected = tiny_pipeline(audio, query=QUERY)["audio"]
    np.testing.assert_array_equal(tiny_pipeline(torch.from_numpy(audio), query=QUERY)["audio"], expected)


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
@pytest.mark.parametrize("channels", [None, 2, 6])
def test_any_rate_and_channel_count(tiny_pipeline, rate, channels):
    audio = noise(0.5, rate, channels)
    out = tiny_pipeline({"array": audio, "sampling_rate": rate}, query=QUERY)
    mono = audio if channels is None else audio.mean(axis=1)
    resampled = mono if rate == 16000 else soxr.resample(mono, rate, 16000, quality="HQ").astype(np.float32)
    assert out["sampling_rate"] == 16000 and len(out["audio"]) == len(resampled)
    np.testing.assert_allclose(out["audio"], reference(tiny_pipeline, resampled), atol=1e-5)


@pytest.mark.parametrize("rate", [8000, 44100])
def test_output_at_the_input_rate_on_request(tiny_pipeline, rate):
    audio = noise(0.5, rate)
    out = tiny_pipeline({"raw": audio, "sampling_rate": rate}, query=QUERY, output_sampling_rate="input")
    assert out["sampling_rate"] == rate and len(out["audio"]) == len(audio)
    assert tiny_pipeline(audio, query=QUERY, output_sampling_rate=22050)["sampling_rate"] == 22050


def test_channels_first_layout_is_down_mixed(tiny_pipeline):
    audio = noise(0.5, channels=2)
    a = tiny_pipeline(audio, query=QUERY)["audio"]
    b = tiny_pipeline(np.ascontiguousarray(audio.T), query=QUERY)["audio"]
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_integer_pcm_is_scaled(tiny_pipeline):
    audio = noise(0.5)
    pcm = np.round(audio * 32767).astype(np.int16)
    out = tiny_pipeline({"array": pcm, "sampling_rate": 16000}, query=QUERY)["audio"]
    expected = tiny_pipeline(pcm.astype(np.float32) / 32768, query=QUERY)["audio"]
    np.testing.assert_allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize("rate, channels", [(8000, 1), (44100, 2), (48000, 2)])
def test_files_bytes_and_dataset_values_agree(tiny_pipeline, tmp_path, rate, channels):
    data = wav_bytes(noise(0.5, rate, channels if channels > 1 else None), rate)
    path = tmp_path / "mix.wav"
    path.write_bytes(data)
    expected = tiny_pipeline(str(path), query=QUERY)
    assert len(expected["audio"]) == 8000
    for form in (Path(path), data, {"bytes": data, "path": "mix.wav"}, {"bytes": None, "path": str(path)}):
        np.testing.assert_array_equal(tiny_pipeline(form, query=QUERY)["audio"], expected["audio"])


def test_flac_and_float_wav(tiny_pipeline, tmp_path):
    audio = noise(0.5)
    flac = tiny_pipeline(wav_bytes(audio, 16000, format="FLAC"), query=QUERY)["audio"]
    floats = tiny_pipeline(wav_bytes(audio, 16000, subtype="FLOAT"), query=QUERY)["audio"]
    np.testing.assert_allclose(flac, floats, atol=1e-3)


class FakeAudioDecoder:
    """What torchcodec's AudioDecoder offers the pipeline (the datasets 5 audio value)."""

    def __init__(self, data, sample_rate):
        self.data, self.sample_rate = data, sample_rate

    def get_all_samples(self):
        return self


def test_audio_decoder(tiny_pipeline):
    audio = noise(0.5, 44100, 2)
    decoder = FakeAudioDecoder(torch.from_numpy(audio.T.copy()), 44100)  # (channels, time)
    out = tiny_pipeline(decoder, query=QUERY)["audio"]
    np.testing.assert_allclose(
        out, tiny_pipeline({"array": audio, "sampling_rate": 44100}, query=QUERY)["audio"], atol=1e-6
    )


def test_real_torchcodec_decoder(tiny_pipeline, tmp_path):
    decoders = pytest.importorskip("torchcodec.decoders", reason="torchcodec is not installed (optional)")
    path = tmp_path / "mix.wav"
    path.write_bytes(wav_bytes(noise(0.5, 48000, 2), 48000))
    out = tiny_pipeline(decoders.AudioDecoder(str(path)), query=QUERY)["audio"]
    np.testing.assert_allclose(out, tiny_pipeline(str(path), query=QUERY)["audio"], atol=1e-4)


def test_datasets_row_with_its_own_query(tiny_pipeline):
    audio = noise(0.5)
    row = {"audio": {"array": audio, "sampling_rate": 16000}, "query": ["Meow"], "label": 3}
    out = tiny_pipeline(row, query=QUERY)
    assert out["query"] == ["Meow"]
    np.testing.assert_array_equal(out["audio"], tiny_pipeline(audio, query=["Meow"])["audio"])


def test_url(tiny_pipeline, tmp_path):
    (tmp_path / "mix.wav").write_bytes(wav_bytes(noise(0.5), 16000))
    handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = tiny_pipeline(f"http://127.0.0.1:{server.server_port}/mix.wav", query=QUERY)
    finally:
        server.shutdown()
    np.testing.assert_array_equal(out["audio"], tiny_pipeline(str(tmp_path / "mix.wav"), query=QUERY)["audio"])


@pytest.fixture
def audio_dataset():
    """Three rows of 16-bit WAV bytes in a default-decoded `Audio()` column, in memory."""
    rows = [{"bytes": wav_bytes(noise(0.3 + 0.1 * i, 16000, seed=i), 16000), "path": None} for i in range(3)]
    return Dataset.from_dict({"audio": rows}).cast_column("audio", Audio())


def test_datasets_column_is_a_list_of_results(tiny_pipeline, audio_dataset):
    column = audio_dataset.cast_column("audio", Audio(decode=False))["audio"]
    out = tiny_pipeline(column, query=QUERY)
    assert isinstance(out, list) and len(out) == 3
    for index, result in enumerate(out):
        expected = tiny_pipeline(column[index]["bytes"], query=QUERY)["audio"]
        np.testing.assert_array_equal(result["audio"], expected)


@pytest.mark.skipif(
    importlib.util.find_spec("torchcodec") is not None, reason="reads undecoded only without torchcodec"
)
def test_default_decoded_audio_works_without_torchcodec(tiny_pipeline, audio_dataset):
    undecoded = audio_dataset.cast_column("audio", Audio(decode=False))
    expected = [tiny_pipeline(row["audio"]["bytes"], query=QUERY)["audio"] for row in undecoded]
    from_column = tiny_pipeline(audio_dataset["audio"], query=QUERY)
    from_rows = list(tiny_pipeline(audio_dataset, query=QUERY))
    from_stream = list(tiny_pipeline(audio_dataset.to_iterable_dataset()["audio"], query=QUERY))
    for results in (from_column, from_rows, from_stream):
        assert len(results) == 3
        for result, audio in zip(results, expected):
            np.testing.assert_array_equal(result["audio"], audio)
    assert audio_dataset.features["audio"].decode  # the caller's dataset is left as it was
