"""The Space's parts in process: examples, plots, input checks, and its Hub metadata."""

import importlib.metadata
import os
import re
import subprocess
import sys
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


def upload_error(path) -> str:
    """The message the Space shows for an upload at `path`."""
    with pytest.raises(gr.Error) as raised:
        app.read_audio(str(path), 16000)
    return str(raised.value.message)


def test_upload_is_refused_from_its_header_before_decoding(tmp_path, monkeypatch):
    # The reported upload: a 189 KB FLAC of 240 s of 8-channel 96 kHz silence.
    path = tmp_path / "gradio" / "0f3a9c" / "silence.flac"
    path.parent.mkdir(parents=True)
    with sf.SoundFile(path, "w", 96000, 8, subtype="PCM_16", format="FLAC") as file:
        for _ in range(24):
            file.write(np.zeros((960000, 8), np.int16))
    assert path.stat().st_size < 300_000
    monkeypatch.setattr(sf, "read", lambda *args, **kwargs: pytest.fail("decoded before its header was checked"))
    message = upload_error(path)
    assert message.startswith("silence.flac lasts 240 s; this accepts up to 60 s: trim it")
    assert str(tmp_path) not in message


@pytest.mark.parametrize(
    "channels, rate, seconds, form, message",
    [
        (9, 16000, 1, "WAV", "has 9 channels; at most 8"),
        (1, 384000, 1, "WAV", "has a sample rate of 384000 Hz; at most 192000 Hz"),
        (8, 192000, 50, "FLAC", "decodes to 293.0 MiB of samples (8 channels at 192000 Hz); at most 256.0 MiB"),
    ],
)
def test_upload_limits(tmp_path, monkeypatch, channels, rate, seconds, form, message):
    path = tmp_path / f"upload.{form.lower()}"
    with sf.SoundFile(path, "w", rate, channels, subtype="PCM_16", format=form) as file:
        for _ in range(seconds):
            file.write(np.zeros((rate, channels), np.int16))
    monkeypatch.setattr(sf, "read", lambda *args, **kwargs: pytest.fail("decoded before its header was checked"))
    assert message in upload_error(path)


def test_bad_uploads_are_named_by_their_base_name_only(tmp_path):
    folder = tmp_path / "gradio" / "5b1e"
    folder.mkdir(parents=True)
    (folder / "notes.wav").write_bytes(b"this is not audio" * 20)
    sf.write(folder / "whole.wav", np.zeros(16000, np.float32), 16000, subtype="PCM_16")
    data = (folder / "whole.wav").read_bytes()
    (folder / "cut.wav").write_bytes(data[: len(data) // 2])
    sf.write(folder / "empty.wav", np.zeros(0, np.float32), 16000)
    expected = {
        "notes.wav": "Could not decode notes.wav as audio: Format not recognised. Try WAV, FLAC, OGG or MP3.",
        "cut.wav": "cut.wav is truncated: its header declares 32000 bytes of audio",
        "empty.wav": "empty.wav is empty",
    }
    for name, message in expected.items():
        shown = upload_error(folder / name)
        assert shown.startswith(message) and str(tmp_path) not in shown, shown
    assert upload_error(folder) == "Could not read the uploaded file 5b1e; upload it again."


@pytest.mark.slow
def test_header_checks_come_with_the_remote_code_without_the_package(tiny_model_dir, tmp_path):
    """On a Space with only this folder, the checks are the model repository's copy of
    `audio_inputs_qrtse`, next to its pipeline code."""
    from transformers import pipeline

    from modeling_qrtse import TASK, QrtseFeatureExtractor, QrtseModel

    folder = tmp_path / "repo"
    model = QrtseModel.from_pretrained(tiny_model_dir)
    pipeline(TASK, model=model, feature_extractor=QrtseFeatureExtractor()).save_pretrained(folder)
    sf.write(tmp_path / "long.wav", np.zeros(16000 * 61, np.int16), 16000)
    script = f"""
import sys
sys.modules["modeling_qrtse"] = None  # as on a Space without the package
sys.path.insert(0, {str(SPACE)!r})
import app
extractor = app.load_extractor({str(folder)!r})
inputs = app.audio_inputs(extractor)
assert inputs.__name__.startswith("transformers_modules."), inputs.__name__
try:
    app.read_audio({str(tmp_path / "long.wav")!r}, 16000, inputs)
except app.gr.Error as error:
    print(error.message)
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().startswith("long.wav lasts 61 s; this accepts up to 60 s"), result.stdout


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
