"""`qrtse extract` and `qrtse classes`, including the README's main-job command (`make demo`)."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pipeline_helpers import noise
from pipeline_helpers import run_cli as run

from modeling_qrtse import default_checkpoint
from modeling_qrtse.default_checkpoint import default_model_available, default_model_path
from modeling_qrtse.example_mixtures import EXAMPLES_DIR, example_mixture, example_mixtures

ROOT = Path(__file__).resolve().parents[3]
_ID2LABEL = json.loads((default_model_path() / "config.json").read_text())["id2label"]
MODEL_LABELS = tuple(_ID2LABEL[key] for key in sorted(_ID2LABEL, key=int))
DEMO_COMMAND = "qrtse extract --example -o outputs/extracted.wav --overwrite"


@pytest.fixture
def mixture_file(tmp_path):
    path = tmp_path / "mix.wav"
    sf.write(path, noise(2.0, 44100, 2), 44100, subtype="PCM_16")
    return path


def test_makefile_demo_is_the_tested_command():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"\$\(BIN\)/" + re.escape(DEMO_COMMAND) + r"\s*$", makefile, re.MULTILINE)
    assert "make demo" in (ROOT / "README.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize(
    "model",
    [
        pytest.param(
            None, marks=pytest.mark.skipif(not default_model_available(), reason="embedded checkpoint not trained yet")
        ),
        "tiny",
    ],
)
def test_readme_main_job_command(tiny_pipeline_folder, tmp_path, model):
    """The exact `make demo` command (the console script, in a fresh process); with the embedded
    default model once it exists, and with a tiny random model via --model meanwhile."""
    argv = shlex.split(DEMO_COMMAND)
    argv[0] = str(Path(sys.executable).with_name("qrtse"))
    if model == "tiny":
        argv += ["--model", str(tiny_pipeline_folder)]
    result = subprocess.run(
        argv, check=False, cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    extracted, rate = sf.read(tmp_path / "outputs" / "extracted.wav")
    mixture, mixture_rate = sf.read(tmp_path / "outputs" / "extracted_mixture.wav")
    assert rate == mixture_rate == 16000 and len(extracted) == len(mixture) == 6 * 16000
    assert np.isfinite(extracted).all()
    example = example_mixture(1)
    query = sorted(example.query, key=list(MODEL_LABELS).index) if model is None else None
    assert "query:         " in result.stdout and "refined query:" in result.stdout
    if query:
        assert "query:         " + ", ".join(query) in result.stdout
    # What the refinement keeps is the model's quality (qrtse.training.example_statistic measures the
    # rule); the demo says what it kept and dropped against what is really in the mixture.
    assert re.search(r"example check: (kept|dropped) .*: (right|wrong)", result.stdout), result.stdout
    refined = re.search(r"refined query: *(.*)", result.stdout).group(1).split("removed:")[0]
    kept = set() if refined.startswith("(none") else {label.strip() for label in refined.split(",") if label.strip()}
    assert kept <= set(example.query), result.stdout


def test_extract_a_file(capsys, mixture_file, tiny_pipeline_folder, tmp_path):
    out = tmp_path / "out" / "target.wav"
    code, stdout, _ = run(
        capsys, "extract", mixture_file, "--query", "Trumpet", "bark", "--model", tiny_pipeline_folder, "-o", out
    )
    assert code == 0
    audio, rate = sf.read(out)
    assert rate == 16000 and len(audio) == 2 * 16000
    assert "detected classes (p >= 0.1)" in stdout and "query:         Bark, Trumpet" in stdout and str(out) in stdout


def extract_trumpet_bark(mixture_file, model, output) -> list:
    """`qrtse extract` arguments for the two-class query most CLI tests ask."""
    return ["extract", mixture_file, "-q", "Trumpet", "Bark", "--model", model, "-o", output]


def test_json_summary_and_options(capsys, mixture_file, tiny_pipeline_folder, tmp_path):
    out = tmp_path / "target.flac"
    code, stdout, _ = run(
        capsys,
        *extract_trumpet_bark(mixture_file, tiny_pipeline_folder, out),
        "--threshold",
        "1.0",
        "--keep-rate",
        "--refinement",
        "chunk",
        "--chunk-length",
        "0.5",
        "--json",
    )
    assert code == 0
    summary = json.loads(stdout)
    target = summary["targets"][0]
    assert target["query"] == ["Bark", "Trumpet"] and target["refined_query"] == [] and len(target["chunks"]) == 4
    assert summary["threshold"] == 1.0 and len(summary["class_probabilities"]) == 41
    audio, rate = sf.read(out)
    assert rate == 44100 and len(audio) == 2 * 44100


def test_no_refine_and_oracle(capsys, mixture_file, tiny_pipeline_folder, tmp_path):
    base = [*extract_trumpet_bark(mixture_file, tiny_pipeline_folder, tmp_path / "o.wav"), "--json", "--overwrite"]
    summary = json.loads(run(capsys, *base, "--threshold", "1.0", "--no-refine")[1])
    assert summary["targets"][0]["refined_query"] == ["Bark", "Trumpet"] and summary["threshold"] is None
    summary = json.loads(run(capsys, *base, "--oracle", "Bark", "Cello")[1])
    assert summary["targets"][0]["refined_query"] == ["Bark"]


def test_frame_refinement_reports_where_each_class_was_kept(capsys, mixture_file, tiny_pipeline_folder, tmp_path):
    base = [*extract_trumpet_bark(mixture_file, tiny_pipeline_folder, tmp_path / "o.wav"), "--overwrite"]
    options = ["--refinement", "frame", "--threshold", "0", "--frame-smoothing", "pad_s=0.1", "median_s=0.05"]
    summary = json.loads(run(capsys, *base, *options, "--json")[1])
    target = summary["targets"][0]
    assert target["refined_query"] == ["Bark", "Trumpet"]
    assert target["segments"] == {"Bark": [[0.0, 2.0]], "Trumpet": [[0.0, 2.0]]}  # theta 0 keeps every frame
    code, stdout, _ = run(capsys, *base, *options)
    assert code == 0 and "Bark kept at 0.00-2.00 s" in stdout


def test_several_targets_are_numbered(capsys, mixture_file, tiny_pipeline_folder, tmp_path):
    code, stdout, _ = run(
        capsys,
        "extract",
        mixture_file,
        "-q",
        "Trumpet",
        "-q",
        "Bark",
        "Meow",
        "--model",
        tiny_pipeline_folder,
        "-o",
        tmp_path / "t.wav",
    )
    assert code == 0
    assert (tmp_path / "t_1.wav").exists() and (tmp_path / "t_2.wav").exists() and not (tmp_path / "t.wav").exists()
    assert "query:         Trumpet" in stdout and "query:         Bark, Meow" in stdout


@pytest.mark.parametrize(
    "argv, message",
    [
        (["MIX", "-q", "dog"], "Unknown class 'dog'. Did you mean 'Bark'?"),
        (["MIX", "-q", "Bark", "--threshold", "2"], "threshold"),
        (["missing.wav", "-q", "Bark"], "not found: missing.wav"),
        (["-q", "Bark"], "either MIXTURE files or --example"),
        (["MIX", "--example", "-q", "Bark"], "either MIXTURE files or --example"),
        (["MIX", "-q", "Bark", "--frame-smoothing", "pad_s=0.1"], "--frame-smoothing needs --refinement frame"),
        (["MIX", "-q", "Bark", "--refinement", "frame", "--frame-smoothing", "pad=0.1"], "unknown frame smoothing"),
        (["MIX", "-q", "Bark", "--refinement", "frame", "--frame-smoothing", "pad_s=-1"], "pad_s must be a finite"),
        (["MIX", "-q", "Bark", "--refinement", "frame", "--frame-smoothing", "pad_s"], "takes NAME=SECONDS"),
    ],
)
def test_errors_exit_2_with_a_message(capsys, mixture_file, tiny_pipeline_folder, tmp_path, argv, message):
    argv = [str(mixture_file) if a == "MIX" else a for a in argv]
    code, _, stderr = run(capsys, "extract", *argv, "--model", tiny_pipeline_folder, "-o", tmp_path / "x.wav")
    assert code == 2 and message in stderr
    assert not (tmp_path / "x.wav").exists()


def test_unreadable_file(capsys, tiny_pipeline_folder, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    code, _, stderr = run(
        capsys, "extract", bad, "-q", "Bark", "--model", tiny_pipeline_folder, "-o", tmp_path / "x.wav"
    )
    assert code == 2 and "Could not decode" in stderr


def test_missing_default_model_says_what_to_do(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(default_checkpoint, "default_model_path", lambda: tmp_path / "default_model")
    code, _, stderr = run(capsys, "classes")
    assert code == 2 and "--model" in stderr and "default_model" in stderr


def test_classes(capsys, tiny_pipeline_folder):
    code, stdout, _ = run(capsys, "classes", "--model", tiny_pipeline_folder)
    assert code == 0
    lines = stdout.splitlines()
    assert len(lines) == 41 and lines[2].split() == ["2", "Bark"]
    code, stdout, _ = run(capsys, "classes", "--model", tiny_pipeline_folder, "--json")
    assert json.loads(stdout)[38] == "Trumpet"


def test_the_shipped_examples_are_real_partially_matched_and_attributed():
    examples = example_mixtures()
    assert len(examples) == 3
    assert sum(p.stat().st_size for p in EXAMPLES_DIR.iterdir()) <= 1_000_000
    for example in examples:
        audio, rate = example.load()
        assert rate == 16000 and audio.shape == (6 * 16000,) and audio.dtype == np.float32
        assert sum(label in example.present for label in example.query) == 1 == len(example.query) - 1
        assert set(example.present) <= set(MODEL_LABELS) and set(example.query) <= set(MODEL_LABELS)
        assert all(r["package"] and r["licence"] and r["file"] for r in example.recordings)
        assert {r["class"] for r in example.recordings[:-1]} == set(example.present)


def test_the_input_mixture_is_never_overwritten(capsys, mixture_file, tiny_pipeline_folder):
    before = mixture_file.read_bytes()
    for extra in ([], ["--overwrite"]):
        code, _, stderr = run(
            capsys, "extract", mixture_file, "-q", "Bark", "--model", tiny_pipeline_folder, "-o", mixture_file, *extra
        )
        assert code == 2 and "is an input" in stderr and "Traceback" not in stderr
    assert mixture_file.read_bytes() == before


def test_an_existing_output_is_refused_without_overwrite(capsys, mixture_file, tiny_pipeline_folder, tmp_path):
    out = tmp_path / "out.wav"
    out.write_bytes(b"keep me")
    code, _, stderr = run(capsys, "extract", mixture_file, "-q", "Bark", "--model", tiny_pipeline_folder, "-o", out)
    assert code == 2 and "exists; pass --overwrite" in stderr and out.read_bytes() == b"keep me"
    code, _, _ = run(
        capsys, "extract", mixture_file, "-q", "Bark", "--model", tiny_pipeline_folder, "-o", out, "--overwrite"
    )
    assert code == 0 and sf.info(out).frames > 0


def test_an_unwritable_output_is_one_line(capsys, mixture_file, tiny_pipeline_folder, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, _, stderr = run(
        capsys, "extract", mixture_file, "-q", "Bark", "--model", tiny_pipeline_folder, "-o", blocker / "out.wav"
    )
    assert code == 2 and "cannot write" in stderr and len(stderr.strip().splitlines()) == 1


def test_an_interrupted_write_leaves_no_partial_file(capsys, monkeypatch, mixture_file, tiny_pipeline_folder, tmp_path):
    real_write = sf.write

    def write_then_fail(path, *args, **kwargs):
        real_write(path, *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("soundfile.write", write_then_fail)
    code, _, stderr = run(
        capsys, "extract", mixture_file, "-q", "Bark", "--model", tiny_pipeline_folder, "-o", tmp_path / "out.wav"
    )
    assert code == 2 and "No space left on device" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mix.wav"]


def test_example_numbers_and_a_missing_query(capsys, tiny_pipeline_folder, tmp_path):
    code, _, stderr = run(
        capsys, "extract", "--example", "9", "--model", tiny_pipeline_folder, "-o", tmp_path / "o.wav"
    )
    assert code == 2 and "--example takes 1 ... 3" in stderr
    code, _, stderr = run(capsys, "extract", tmp_path / "o.wav", "--model", tiny_pipeline_folder)
    assert code == 2 and "--query" in stderr
    code, stdout, _ = run(
        capsys, "extract", "--example", "2", "-q", "Bark", "--model", tiny_pipeline_folder, "-o", tmp_path / "o.wav"
    )
    assert code == 0 and "query:         Bark" in stdout and "example check: " in stdout
    assert (tmp_path / "o_mixture.wav").exists()
