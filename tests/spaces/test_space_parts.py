"""The Space's parts in process: examples, plots, input checks, and its Hub metadata."""

import importlib.metadata
import re
from pathlib import Path

# spaces/ is on sys.path (conftest), as the Space's own folder is on a Space.
import app
import gradio as gr
import numpy as np
import pytest
import soundfile as sf
import yaml
from example_mixtures import synthetic_examples, write_examples
from spectrograms import spectrogram_image

from modeling_qrtse.example_mixtures import example_mixtures

SPACE = Path(__file__).parents[2] / "spaces"


def test_the_examples_are_the_packages_real_recordings(tmp_path):
    shipped = example_mixtures()
    labels = {label for e in shipped for label in e.present + e.query}
    examples = write_examples(tmp_path, labels)
    assert [e.path for e in examples] == [str(e.path) for e in shipped]
    for example in examples:
        audio, rate = sf.read(example.path)
        assert rate == 16000 and len(audio) == 6 * 16000 and np.isfinite(audio).all()
        assert (
            len(set(example.query) & set(example.present)) == 1 and len(set(example.query) - set(example.present)) == 1
        )
        assert example.description.startswith("Real recordings")


def test_without_the_real_examples_classes_the_synthetic_ones_are_rendered(tmp_path):
    labels = {"Telephone", "Bark", "Glockenspiel", "Trumpet", "Meow", "Computer_keyboard"}  # no real query
    examples = write_examples(tmp_path, labels)
    assert len(examples) == 2
    for example in examples:
        audio, rate = sf.read(example.path)
        assert rate == 16000 and np.isfinite(audio).all() and 0.5 < np.abs(audio).max() <= 0.81
        assert set(example.present) & set(example.query) and set(example.query) - set(example.present)


def test_examples_need_classes_the_model_knows(tmp_path):
    assert synthetic_examples(tmp_path, {"beep", "hum"}) == []
    assert write_examples(tmp_path, {"beep", "hum"}) == []


def test_spectrogram_image_is_rgb():
    image = spectrogram_image(np.random.randn(8000).astype(np.float32), np.zeros(8000, np.float32), 16000)
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8


def test_probability_table_colours_what_refinement_did():
    probabilities = {f"c{i}": 1 - i / 20 for i in range(20)} | {"Bark": 0.01}
    table = app.probability_table(probabilities, ["c0", "Bark"], ["c0"], refine=True)
    status = dict(zip(table["class"], table["status"]))
    assert status["c0"] == "kept" and status["Bark"] == "removed" and status["c1"] == "not queried"
    assert len(table) == app.TOP_CLASSES + 1
    assert set(app.probability_table(probabilities, ["Bark"], ["Bark"], refine=False)["status"]) == {
        "not queried",
        "queried",
    }


def test_audio_checks_raise_gradio_errors(tmp_path):
    with pytest.raises(gr.Error, match="No audio"):
        app.read_audio(None, 16000)
    sf.write(tmp_path / "long.wav", np.zeros(int(16000 * (app.MAX_SECONDS + 1)), np.float32), 16000)
    with pytest.raises(gr.Error, match="accepts up to"):
        app.read_audio(str(tmp_path / "long.wav"), 16000)
    sf.write(tmp_path / "rate.wav", np.zeros((44100, 2), np.float32), 44100)
    assert app.read_audio(str(tmp_path / "rate.wav"), 16000).shape == (16000,)


def test_output_is_scaled_only_when_it_would_clip():
    assert app.to_int16(np.array([0.5, -0.5]))[0] == 16384
    assert app.to_int16(np.array([2.0, -1.0])).tolist() == [32767, -16384]


def test_space_metadata_matches_what_is_tested():
    header = yaml.safe_load(re.match(r"---\n(.*?)\n---\n", (SPACE / "README.md").read_text(), re.DOTALL).group(1))
    assert header["sdk"] == "gradio" and header["sdk_version"] == gr.__version__
    assert (SPACE / header["app_file"]).is_file()
    for line in (SPACE / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            assert importlib.metadata.version(name).split("+")[0] == version, name


def test_model_comes_from_argument_then_environment_then_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv(app.MODEL_ENV, "user/from-env")
    assert app.resolve_model("user/from-arg") == "user/from-arg"
    assert app.resolve_model() == "user/from-env"
    monkeypatch.delenv(app.MODEL_ENV)
    from modeling_qrtse import default_checkpoint

    monkeypatch.setattr(default_checkpoint, "default_model_path", lambda: tmp_path / "default_model")
    monkeypatch.setattr(default_checkpoint, "default_model_available", lambda: False)
    with pytest.raises(SystemExit, match="embedded checkpoint is missing"):
        app.resolve_model()
    monkeypatch.setattr(default_checkpoint, "default_model_available", lambda: True)
    assert app.resolve_model() == str(tmp_path / "default_model")
