"""What a careless or hostile command line meets: files are never replaced without --overwrite
(every writer), batch resume follows the settings, outputs are never inputs, bad outputs and bad
models are one line before any work."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pipeline_helpers import noise
from pipeline_helpers import run_cli as run

ROOT = Path(__file__).resolve().parents[3]
SENTINEL = b"a file the user cares about"


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for index in range(3):
        sf.write(folder / f"t{index}.wav", noise(1.0 + 0.2 * index, 16000, seed=index), 16000, subtype="PCM_16")
    return folder


def batch(capsys, inputs, model, out, *extra):
    code, stdout, stderr = run(capsys, "extract", inputs, "--model", model, "-o", out, "--json", *extra)
    return code, json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else None, stderr


# Every writer of the command line: (name, argv builder, the path it writes).
WRITERS = {
    "single target": lambda i, m, t: (
        ["extract", i / "t0.wav", "-q", "Bark", "--model", m, "-o", t / "x.wav"],
        t / "x.wav",
    ),
    "single residual": lambda i, m, t: (
        ["extract", i / "t0.wav", "-q", "Bark", "--model", m, "-o", t / "x.wav", "--residual"],
        t / "x_residual.wav",
    ),
    "numbered target": lambda i, m, t: (
        ["extract", i / "t0.wav", "-q", "Bark", "-q", "Meow", "--model", m, "-o", t / "x.wav"],
        t / "x_2.wav",
    ),
    "batch target": lambda i, m, t: (["extract", i, "-q", "Bark", "--model", m, "-o", t / "out"], t / "out" / "t1.wav"),
    "batch residual": lambda i, m, t: (
        ["extract", i, "-q", "Bark", "--residual", "--model", m, "-o", t / "out"],
        t / "out" / "t0_residual.wav",
    ),
    "batch report": lambda i, m, t: (
        ["extract", i, "-q", "Bark", "--model", m, "-o", t / "out"],
        t / "out" / "report.json",
    ),
    "export-onnx": lambda i, m, t: (["export-onnx", "--model", m, "-o", t / "m.onnx"], t / "m.onnx"),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_no_writer_replaces_a_file_without_overwrite(capsys, inputs, tiny_pipeline_folder, tmp_path, writer):
    argv, target = WRITERS[writer](inputs, tiny_pipeline_folder, tmp_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(SENTINEL)
    code, _, stderr = run(capsys, *argv)
    assert code != 0 and "--overwrite" in stderr + _, (writer, stderr)
    assert target.read_bytes() == SENTINEL, f"{writer} replaced a file without --overwrite"
    assert "Traceback" not in stderr
    code, _, stderr = run(capsys, *argv, "--overwrite")
    assert code == 0, stderr
    assert target.read_bytes() != SENTINEL
    assert not [p for p in tmp_path.rglob(".*partial*")], "temporary files were left behind"


@pytest.mark.parametrize(
    "name, message",
    [("out.txt", "'.txt'"), ("out", "no ending"), ("o.mp3", "'.mp3'"), ("folder", "is a folder")],
)
def test_a_bad_output_name_fails_before_the_model_is_loaded(capsys, inputs, tmp_path, name, message):
    (tmp_path / "folder").mkdir()
    code, _, stderr = run(
        capsys, "extract", inputs / "t0.wav", "-q", "Bark", "--model", tmp_path / "nope", "-o", tmp_path / name
    )
    assert code == 2 and message in stderr and len(stderr.strip().splitlines()) == 1
    code, _, stderr = run(capsys, "export-onnx", "--model", tmp_path / "nope", "-o", tmp_path / "m.wav")
    assert code == 2 and "writes .onnx files" in stderr


def test_a_rerun_with_other_settings_is_not_already_done(capsys, inputs, tiny_pipeline_folder, tmp_path):
    out = tmp_path / "out"
    code, summary, _ = batch(capsys, inputs, tiny_pipeline_folder, out, "-q", "Bark")
    assert code == 0 and summary["done"] == 3
    made = {p.name: p.read_bytes() for p in out.glob("*.wav")}
    report = (out / "report.json").read_text()

    code, summary, _ = batch(capsys, inputs, tiny_pipeline_folder, out, "-q", "Bark")
    assert code == 0 and summary["skipped"] == 3  # same settings: done
    for other in (["-q", "Telephone"], ["-q", "Bark", "--threshold", "0.9"], ["-q", "Bark", "--no-refine"]):
        code, summary, _ = batch(capsys, inputs, tiny_pipeline_folder, out, *other)
        assert code == 1 and summary["failed"] == 3 and summary["skipped"] == 0, other
        assert {p.name: p.read_bytes() for p in out.glob("*.wav")} == made
        assert (out / "report.json").read_text() == report  # the records still describe the files
    code, summary, _ = batch(capsys, inputs, tiny_pipeline_folder, out, "-q", "Telephone", "--overwrite")
    assert code == 0 and summary["done"] == 3
    records = json.loads((out / "report.json").read_text())
    assert all(r["targets"][0]["query"] == ["Telephone"] for r in records)


def test_another_model_redoes_nothing_silently(capsys, inputs, tiny_pipeline_folder, tmp_path):
    out = tmp_path / "out"
    assert batch(capsys, inputs, tiny_pipeline_folder, out, "-q", "Bark")[0] == 0
    other = tmp_path / "other_model"
    shutil.copytree(tiny_pipeline_folder, other)
    from modeling_qrtse import QrtseModel

    model = QrtseModel.from_pretrained(other)
    with __import__("torch").no_grad():
        next(model.parameters()).add_(0.01)
    model.save_pretrained(other)
    code, summary, _ = batch(capsys, inputs, other, out, "-q", "Bark")
    assert code == 1 and summary["failed"] == 3


def test_a_file_that_happens_to_have_an_outputs_name_is_not_done(capsys, inputs, tiny_pipeline_folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(inputs / "t0.wav", out / "t0.wav")  # an unrelated file, no report
    code, summary, _ = batch(capsys, inputs, tiny_pipeline_folder, out, "-q", "Bark", "--residual")
    assert code == 1 and summary["failed"] == 1 and summary["done"] == 2
    assert (out / "t0.wav").read_bytes() == (inputs / "t0.wav").read_bytes()
    assert not (out / "t0_residual.wav").exists()


def test_an_output_folder_inside_the_input_folder_is_never_read(capsys, inputs, tiny_pipeline_folder):
    out = inputs / "out"
    for _ in range(2):
        code, summary, _ = batch(capsys, inputs, tiny_pipeline_folder, out, "-q", "Bark", "--residual")
        assert code == 0 and summary["inputs"] == 3
    assert sorted(p.relative_to(inputs).as_posix() for p in inputs.rglob("*.wav")) == sorted(
        [f"t{k}.wav" for k in range(3)] + [f"out/t{k}{s}.wav" for k in range(3) for s in ("", "_residual")]
    )


def test_a_foreign_report_is_not_replaced(capsys, inputs, tiny_pipeline_folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("my own notes")
    code, _, stderr = run(capsys, "extract", inputs, "-q", "Bark", "--model", tiny_pipeline_folder, "-o", out)
    assert code == 2 and "report.json" in stderr and (out / "report.json").read_text() == "my own notes"


def _bad_models(root: Path, good: Path) -> dict:
    malformed = root / "malformed"
    shutil.copytree(good, malformed)
    (malformed / "config.json").write_text("{ not json")
    foreign = root / "foreign"
    shutil.copytree(good, foreign)
    config = json.loads((foreign / "config.json").read_text())
    (foreign / "config.json").write_text(json.dumps(config | {"model_type": "bert"}))
    truncated = root / "truncated"
    shutil.copytree(good, truncated)
    weights = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    return {"malformed": malformed, "foreign": foreign, "truncated": truncated, "missing": root / "no_such_folder"}


@pytest.mark.parametrize("kind", ["malformed", "foreign", "truncated", "missing"])
@pytest.mark.parametrize("command", ["extract", "classes", "summary", "export-onnx"])
def test_a_bad_model_is_one_line(capsys, inputs, tiny_pipeline_folder, tmp_path, kind, command):
    model = _bad_models(tmp_path, tiny_pipeline_folder)[kind]
    argv = {
        "extract": ["extract", inputs / "t0.wav", "-q", "Bark", "-o", tmp_path / "x.wav"],
        "classes": ["classes"],
        "summary": ["summary"],
        "export-onnx": ["export-onnx", "-o", tmp_path / "m.onnx"],
    }[command]
    code, _, stderr = run(capsys, *argv, "--model", model)
    if command == "classes" and kind == "truncated":  # classes reads only the config
        assert code == 0
        return
    if command == "summary" and kind == "truncated":
        assert code == 0
        return
    assert code == 2, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
    assert str(model.name) in stderr
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "m.onnx").exists()


@pytest.mark.slow
def test_an_uncached_hub_id_offline_is_one_line(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "OMP_NUM_THREADS": "1"}
    for argv in (["classes"], ["summary"]):
        result = subprocess.run(
            [sys.executable, "-m", "modeling_qrtse.cli", *argv, "--model", "someone/not-cached"],
            check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 2 and "someone/not-cached" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.slow
def test_batch_killed_at_random_points_then_rerun_equals_an_uninterrupted_run(inputs, tiny_pipeline_folder, tmp_path):
    """Acceptance 2 of issue 27: 10 SIGKILLs at seeded random times, each followed by a rerun."""
    for index in range(3, 6):
        sf.write(inputs / f"t{index}.wav", noise(1.2, 16000, seed=index), 16000, subtype="PCM_16")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def command(out):
        argv = ["extract", str(inputs), "-q", "Bark", "-q", "Meow", "--residual", "--model", str(tiny_pipeline_folder)]
        return [sys.executable, "-m", "modeling_qrtse.cli", *argv, "-o", str(out)]

    def state(out):
        files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        return files

    reference = tmp_path / "reference"
    first = subprocess.run(
        command(reference), check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    rng = np.random.default_rng(27)
    for trial in range(10):
        out = tmp_path / f"trial{trial}"
        process = subprocess.Popen(
            command(out), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            process.wait(timeout=float(rng.uniform(2.0, 9.0)))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        rerun = subprocess.run(
            command(out), check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert state(out) == state(reference), f"trial {trial} differs from the uninterrupted run"


def test_pickled_only_weights_are_refused_in_one_line_that_says_how_to_convert(capsys, tiny_pipeline_folder, tmp_path):
    import torch

    from modeling_qrtse import QrtseModel

    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_pipeline_folder, pickled)
    torch.save(QrtseModel.from_pretrained(pickled).state_dict(), pickled / "pytorch_model.bin")
    (pickled / "model.safetensors").unlink()
    for argv in (["extract", "--example", "-o", tmp_path / "x.wav"], ["export-onnx", "-o", tmp_path / "m.onnx"]):
        code, _, stderr = run(capsys, *argv, "--model", pickled)
        assert code == 2 and "pytorch_model.bin" in stderr and "save_pretrained" in stderr, stderr
        assert len(stderr.strip().splitlines()) == 1
