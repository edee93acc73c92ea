"""`qrtse extract` over folders and patterns: failures, resuming, killing, two processes, residuals."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pipeline_helpers import noise
from pipeline_helpers import run_cli as run

from modeling_qrtse.cli.plan import expand_inputs

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "true"}


@pytest.fixture
def recordings(tmp_path):
    """20 mixtures in two sub-folders at two rates, one of them a corrupt file."""
    folder = tmp_path / "recordings"
    for index in range(20):
        path = folder / ("a" if index % 2 else "b") / f"take{index:02d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        if index == 7:
            path.write_bytes(b"RIFF not really a wave file")
        else:
            rate = 16000 if index % 3 else 22050
            sf.write(path, noise(1.0 + 0.1 * index, rate, seed=index), rate, subtype="PCM_16")
    return folder


def outputs(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.wav"))}


def test_a_folder_with_a_corrupt_file_then_a_rerun(capsys, recordings, tiny_pipeline_folder, tmp_path):
    out = tmp_path / "out"
    argv = ("extract", recordings, "-q", "Bark", "--model", tiny_pipeline_folder, "-o", out, "--json")
    code, stdout, _ = run(capsys, *argv)
    assert code == 1
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary == {**summary, "inputs": 20, "done": 19, "skipped": 0, "failed": 1}
    written = outputs(out)
    assert len(written) == 19 and "a/take07.wav" not in written and "a/take01.wav" in written
    report = {r["name"]: r for r in json.loads((out / "report.json").read_text())}
    assert report["a/take07"]["status"] == "failed" and "decode" in report["a/take07"]["error"]
    assert report["a/take01"]["targets"][0]["query"] == ["Bark"] and report["a/take01"]["class_probabilities"]

    modified = {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")}
    code, stdout, _ = run(capsys, *argv)
    assert code == 1  # the corrupt file still fails
    assert json.loads(stdout.strip().splitlines()[-1])["skipped"] == 19
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")} == modified
    assert json.loads((out / "report.json").read_text())[0]["status"] == "done"  # earlier records kept


def test_patterns_lists_and_residuals(capsys, recordings, tiny_pipeline_folder, tmp_path):
    out = tmp_path / "out"
    code, stdout, _ = run(
        capsys, "extract", str(recordings / "b" / "*.wav"), recordings / "a" / "take01.wav",
        "-q", "Bark", "-q", "Trumpet", "--residual", "--model", tiny_pipeline_folder, "-o", out,
    )  # fmt: skip
    assert code == 0, stdout
    names = set(outputs(out))
    assert len(names) == 11 * 4 and {"take02_1.wav", "take02_2_residual.wav", "take01_2.wav"} <= names
    mixture, rate = sf.read(recordings / "b" / "take02.wav", dtype="float32")
    target, target_rate = sf.read(out / "take02_1.wav", dtype="float32")
    residual, _ = sf.read(out / "take02_1_residual.wav", dtype="float32")
    assert rate == target_rate == 16000
    # Mixture = target + residual, up to the two outputs' 16-bit rounding.
    assert np.abs(target + residual - mixture).max() <= 1.5 / 32768


def test_bad_batch_inputs_are_one_line(capsys, recordings, tiny_pipeline_folder, tmp_path):
    code, _, stderr = run(capsys, "extract", tmp_path / "nothing*.wav", recordings, "-q", "Bark", "-o", tmp_path)
    assert code == 2 and "no audio files in" in stderr and len(stderr.strip().splitlines()) == 1
    (tmp_path / "file").write_text("x")
    code, _, stderr = run(
        capsys, "extract", recordings, "-q", "Bark", "--model", tiny_pipeline_folder, "-o", tmp_path / "file"
    )
    assert code == 2 and "must be a folder" in stderr
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "take01.wav").write_bytes((recordings / "a" / "take01.wav").read_bytes())
    with pytest.raises(ValueError, match="would both write"):
        expand_inputs([recordings / "a" / "take01.wav", twin / "take01.wav"])


def _extract_command(recordings, model, out):
    return ["-m", "modeling_qrtse.cli", "extract", str(recordings), "-q", "Bark", "--model", str(model), "-o", str(out)]


@pytest.mark.slow
def test_a_killed_run_leaves_no_partial_file_and_resumes(recordings, tiny_pipeline_folder, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, *_extract_command(recordings, tiny_pipeline_folder, out)]
    process = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(list(out.rglob("take*.wav"))) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = list(out.rglob("take*.wav"))
    assert 3 <= len(finished) < 19, "the run should have been killed part way"
    for path in finished:  # whatever carries an output's name is complete
        assert len(sf.read(path)[0]) > 0
    result = subprocess.run(
        command + ["--json"], check=False, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300
    )
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 1 and summary["failed"] == 1 and summary["skipped"] >= len(finished)
    assert len(outputs(out)) == 19
    assert not [p for p in out.rglob(".*") if "partial" in p.name], "stale partial files were left behind"


@pytest.mark.slow
def test_two_processes_write_the_same_files_as_one(recordings, tiny_pipeline_folder, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    extract = _extract_command(recordings, tiny_pipeline_folder, one)
    single = subprocess.run(
        [sys.executable, *extract], check=False, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300
    )
    assert single.returncode == 1, single.stderr[-2000:]
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2", "--num_machines", "1"]
    launch += [
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        *_extract_command(recordings, tiny_pipeline_folder, two),
    ]
    double = subprocess.run(launch, check=False, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert double.returncode == 1, double.stderr[-2000:]
    assert len(outputs(one)) == 19 and outputs(one) == outputs(two)
    report = json.loads((two / "report.json").read_text())
    assert len(report) == 20 and sum(r["status"] == "done" for r in report) == 19
