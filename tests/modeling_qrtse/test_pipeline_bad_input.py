"""Bad or degenerate input gives a clear error or a documented result, never NaN."""

import numpy as np
import pytest
from pipeline_helpers import noise

QUERY = ["Trumpet", "Bark"]


@pytest.mark.parametrize(
    "audio, message",
    [
        (np.zeros(0, np.float32), "empty"),
        ({"array": np.zeros((0, 2), np.float32), "sampling_rate": 44100}, "empty"),
        (np.array([0.1, np.nan, 0.2] * 1000, np.float32), "NaN"),
        (np.array([0.1, np.inf] * 1000, np.float32), "NaN or Inf"),
        (np.zeros((2, 2, 100)), "1-D"),
        ({"array": np.zeros(100)}, "sampling_rate"),
        (b"definitely not audio", "Could not decode"),
        (12345, "Audio input must be"),
    ],
)
def test_bad_audio_raises_value_error(tiny_pipeline, audio, message):
    with pytest.raises(ValueError, match=message):
        tiny_pipeline(audio, query=QUERY)


def test_missing_file(tiny_pipeline, tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        tiny_pipeline(str(tmp_path / "nothing.wav"), query=QUERY)


def test_unreadable_file(tiny_pipeline, tmp_path):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(ValueError, match="broken.wav"):
        tiny_pipeline(str(path), query=QUERY)


@pytest.mark.parametrize("seconds", [0.5, 5.0])
def test_silence_in_gives_silence_out(tiny_pipeline, seconds):
    out = tiny_pipeline(np.zeros(int(seconds * 16000), np.float32), query=QUERY, chunk_length_s=2.0)
    assert out["audio"].shape == (int(seconds * 16000),)
    assert not out["audio"].any()
    assert all(np.isfinite(p) for p in out["class_probabilities"].values())


def test_audio_shorter_than_one_encoder_window(tiny_pipeline):
    out = tiny_pipeline(np.full(7, 0.1, np.float32), query=QUERY)
    assert out["audio"].shape == (7,) and np.isfinite(out["audio"]).all()


def test_very_loud_and_very_quiet_input_stay_finite(tiny_pipeline):
    for scale in (1e-9, 1e3):
        out = tiny_pipeline(noise(0.5) * scale, query=QUERY)
        assert np.isfinite(out["audio"]).all()


def test_unknown_label_and_empty_query(tiny_pipeline):
    with pytest.raises(ValueError, match="Unknown class 'Dgo'"):
        tiny_pipeline(noise(0.2), query=["Dgo"])
    with pytest.raises(ValueError, match="names no class"):
        tiny_pipeline(noise(0.2), query=[""])


def test_bad_dataset_row_query(tiny_pipeline):
    row = {"audio": {"array": noise(0.2), "sampling_rate": 16000}, "query": ["kitten"]}
    with pytest.raises(ValueError, match="'Meow'"):
        tiny_pipeline(row)
