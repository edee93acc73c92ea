"""The real training and evaluation commands at toy size, resume after SIGKILL, and a
two-process CPU launch."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_build import write_tiny_build

from modeling_qrtse import QrtseConfig, QrtseModel
from modeling_qrtse.kernels.gemm import native_bf16_available
from qrtse.training.arguments import DataArguments, ModelArguments
from qrtse.training.systems import get_system
from qrtse.training.time_budget import TimeBudget
from qrtse.training.train import build_model, inactive_share

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "training" / "configs" / "tiny.json")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return write_tiny_build(tmp_path_factory.mktemp("tiny"))


def run(args, **kwargs):
    return subprocess.run(args, check=False, cwd=ROOT, env=ENV, capture_output=True, text=True, **kwargs)


def train_command(build, output_dir, *extra):
    return [
        sys.executable,
        "-m",
        "qrtse.training.train",
        TINY,
        "--data_dir",
        str(build),
        "--output_dir",
        str(output_dir),
        *extra,
    ]


def losses(output_dir) -> list:
    return json.loads((Path(output_dir) / "loss_history.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("system", ["proposed", "baseline1", "baseline2"])
def test_train_then_evaluate(build, tmp_path, system):
    result = run(train_command(build, tmp_path / "run", "--system", system))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "run" / "final" / "model.safetensors").exists()
    assert (tmp_path / "run" / "best" / "validation.json").exists()
    assert len(losses(tmp_path / "run")) == 6
    evaluate = [
        sys.executable,
        "-m",
        "qrtse.training.evaluate",
        "--model",
        f"{system}={tmp_path / 'run' / 'final'}",
        "--data-dir",
        str(build),
        "--split",
        "test",
    ]
    result = run([*evaluate, "--output-dir", str(tmp_path / "eval")])
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    scores = results["systems"][system]["scores"]
    if system == "proposed":  # the optimised path (default) scores what the eager modules score
        result = run([*evaluate, "--output-dir", str(tmp_path / "eval-reference"), "--reference-path"])
        assert result.returncode == 0, result.stderr[-3000:]
        reference = json.loads((tmp_path / "eval-reference" / "results.json").read_text())
        assert reference["systems"][system]["scores"] == pytest.approx(scores, abs=1e-3, nan_ok=True)
    assert {"1:0|0.0", "1:1|0.0", "1:3|0.0", "0:1|0.0", "1:5|oracle"} <= set(scores)
    assert ("1:0|0.1" in scores) == (system == "proposed")
    assert (tmp_path / "eval" / "fig3_sweep.png").stat().st_size > 1000
    assert "| System |" in (tmp_path / "eval" / "results.md").read_text()


@pytest.mark.slow
def test_sigkill_and_resume_continue_the_same_loss_curve(build, tmp_path):
    steps = ["--epochs", "10", "--steps_per_epoch", "4", "--checkpoint_every", "5", "--evaluate_every", "1000"]
    reference = run(train_command(build, tmp_path / "reference", *steps))
    assert reference.returncode == 0, reference.stderr[-3000:]

    killed_dir = tmp_path / "killed"
    process = subprocess.Popen(
        train_command(build, killed_dir, *steps),
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while not (killed_dir / "checkpoint-5" / "COMPLETE").exists() and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "training finished before it could be killed"
    assert not (killed_dir / "loss_history.json").exists()

    resumed = run(train_command(build, killed_dir, *steps))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stdout + resumed.stderr
    assert losses(killed_dir) == pytest.approx(losses(tmp_path / "reference"), abs=1e-6)


@pytest.mark.slow
def test_fast_and_reference_training_paths_give_the_same_losses(build, tmp_path):
    """Same seed, same data: 50 steps of the fast CPU path and of the eager modules."""
    steps = ["--epochs", "10", "--steps_per_epoch", "5", "--checkpoint_every", "1000", "--evaluate_every", "1000"]
    fast = run(train_command(build, tmp_path / "fast", *steps))
    reference = run(train_command(build, tmp_path / "reference", *steps, "--reference_path", "true"))
    assert fast.returncode == 0, fast.stderr[-3000:]
    assert reference.returncode == 0, reference.stderr[-3000:]
    assert "training path: fast" in fast.stdout + fast.stderr
    assert "training path: reference" in reference.stdout + reference.stderr
    assert len(losses(tmp_path / "fast")) == 50
    assert losses(tmp_path / "fast") == pytest.approx(losses(tmp_path / "reference"), rel=1e-3)


@pytest.mark.slow
@pytest.mark.skipif(not native_bf16_available(), reason="this CPU has no native bf16 (AVX512-BF16/AMX)")
def test_bf16_mixed_precision_runs_the_fused_path_and_tracks_float32(build, tmp_path):
    """`--mixed_precision bf16` on CPU is the fused path's bf16 GEMMs, not Accelerate's autocast
    (under which the fused modules would fall back to the reference ones): the run says so, and its
    losses stay within 2% of float32's (of max(|loss|, 1 dB): the loss is a dB value near 0)."""
    steps = ["--epochs", "2", "--steps_per_epoch", "5", "--checkpoint_every", "1000", "--evaluate_every", "1000"]
    full = run(train_command(build, tmp_path / "float32", *steps))
    mixed = run(train_command(build, tmp_path / "bf16", *steps, "--mixed_precision", "bf16"))
    assert full.returncode == 0, full.stderr[-3000:]
    assert mixed.returncode == 0, mixed.stderr[-3000:]
    assert "training path: fast (optimize_for_training, bf16 GEMMs)" in mixed.stdout + mixed.stderr
    expected, actual = np.array(losses(tmp_path / "float32")), np.array(losses(tmp_path / "bf16"))
    assert len(actual) == 10
    assert np.all(np.abs(actual - expected) <= 0.02 * np.maximum(np.abs(expected), 1.0))


@pytest.mark.slow
def test_two_process_cpu_launch(build, tmp_path):
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        *train_command(build, tmp_path / "ddp")[1:],  # "-m qrtse.training.train ..." without the interpreter
    ]
    result = subprocess.run(
        command,
        check=False,
        cwd=ROOT,
        env={**ENV, "ACCELERATE_USE_CPU": "true"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    args = json.loads((tmp_path / "ddp" / "training_args.json").read_text())
    assert args["num_processes"] == 2
    assert len(losses(tmp_path / "ddp")) == 6


def test_merge_refuses_results_of_different_protocols(tmp_path):
    from qrtse.training.evaluate import merge_results

    base = {"split": "test", "data_dir": "d", "seed": 0, "thresholds": [0.0], "oracle": "oracle"}
    (tmp_path / "a.json").write_text(json.dumps({**base, "systems": {"a": {}}}))
    (tmp_path / "b.json").write_text(json.dumps({**base, "systems": {"b": {}}}))
    (tmp_path / "c.json").write_text(json.dumps({**base, "seed": 1, "systems": {"c": {}}}))
    assert set(merge_results([tmp_path / "a.json", tmp_path / "b.json"])["systems"]) == {"a", "b"}
    with pytest.raises(ValueError, match="different"):
        merge_results([tmp_path / "a.json", tmp_path / "c.json"])


@pytest.mark.parametrize(
    "system, step, expected",
    [
        ("baseline2", 0, 0.0),
        ("baseline2", 199, 0.0),
        ("baseline2", 200, 0.1),
        ("baseline1", 500, 0.0),
        ("proposed", 500, 0.0),
    ],
)
def test_inactive_samples_start_after_inactive_start_epoch(system, step, expected):
    data_args = DataArguments(inactive_fraction=0.1, inactive_start_epoch=2)
    assert inactive_share(data_args, get_system(system), steps_per_epoch=100, step=step) == expected


def test_inactive_samples_from_the_first_step_by_default():
    assert inactive_share(DataArguments(), get_system("baseline2"), steps_per_epoch=100, step=0) == 0.1


def test_init_from_warm_starts_a_matching_system_and_refuses_a_classifier_mismatch(tmp_path):
    saved = QrtseModel(QrtseConfig.from_preset("tiny", use_classifier=False))
    saved.save_pretrained(tmp_path)
    labels = [saved.config.id2label[i] for i in range(saved.config.num_labels)]
    warm = build_model(ModelArguments(preset="tiny", system="baseline2", init_from=str(tmp_path)), labels=labels)
    assert not warm.config.use_classifier
    assert torch.equal(warm.query_embedding.weight, saved.query_embedding.weight)
    with pytest.raises(ValueError, match="use_classifier"):
        build_model(ModelArguments(preset="tiny", system="proposed", init_from=str(tmp_path)), labels=labels)
    # Data with another vocabulary: shared classes keep their query-embedding columns by name.
    moved = build_model(
        ModelArguments(preset="tiny", system="baseline2", init_from=str(tmp_path)), labels=labels[1::-1]
    )
    assert moved.config.num_labels == 2
    assert torch.equal(moved.query_embedding.weight[:, 0], saved.query_embedding.weight[:, 1])


def test_causal_starts_from_the_trained_trunk_or_the_causal_preset(tmp_path):
    saved = QrtseModel(QrtseConfig.from_preset("tiny"))
    saved.save_pretrained(tmp_path)
    labels = [saved.config.id2label[i] for i in range(saved.config.num_labels)]
    warm = build_model(ModelArguments(preset="tiny", init_from=str(tmp_path), causal=True), labels=labels)
    assert warm.config.causal and not warm.classifier.gru.bidirectional
    assert torch.equal(
        warm.mask_estimator.blocks[0].depthwise_conv.weight, saved.mask_estimator.blocks[0].depthwise_conv.weight
    )
    assert build_model(ModelArguments(preset="tiny", causal=True), labels=labels).config.causal
    assert build_model(ModelArguments(preset="small-causal"), labels=labels).config.causal


@pytest.mark.slow
def test_causal_training_run(build, tmp_path):
    result = run(train_command(build, tmp_path / "run", "--causal", "true"))
    assert result.returncode == 0, result.stderr[-3000:]
    trained = QrtseModel.from_pretrained(tmp_path / "run" / "final")
    assert trained.config.causal and (tmp_path / "run" / "best" / "validation.json").exists()


def test_time_budget_stops_at_the_first_step_after_it_and_a_resume_gets_a_new_one():
    class Accelerator:
        num_processes = 1

    now = [100.0]
    budget = TimeBudget(0.5, started_at=100.0, accelerator=Accelerator(), clock=lambda: now[0])
    assert not budget.expired()
    now[0] = 129.9
    assert not budget.expired()
    now[0] = 130.0
    assert budget.expired()
    assert not TimeBudget(None, started_at=0.0, accelerator=Accelerator(), clock=lambda: 1e9).expired()
    with pytest.raises(ValueError, match="positive"):
        TimeBudget(0, started_at=0.0, accelerator=Accelerator())


@pytest.mark.slow
def test_max_minutes_saves_validates_and_summarises_then_a_resume_continues(build, tmp_path):
    steps = ["--epochs", "10", "--steps_per_epoch", "4", "--checkpoint_every", "1000", "--evaluate_every", "1000"]
    # A budget shorter than set-up: the run stops after its first step.
    first = run(train_command(build, tmp_path / "run", *steps, "--max_minutes", "0.0001"))
    assert first.returncode == 0, first.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["step"] == 1 and summary["planned_steps"] == 40
    assert summary["stopped_by"] == "time budget"
    assert summary["best_step"] == 1 and summary["median_step_seconds"] > 0
    assert (tmp_path / "run" / "checkpoint-1" / "COMPLETE").exists()
    assert (tmp_path / "run" / "best" / "validation.json").exists()
    assert "summary: 1 of 40 steps (stopped by time budget)" in first.stdout + first.stderr

    resumed = run(train_command(build, tmp_path / "run", *steps, "--max_minutes", "30"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["step"] == 40 and summary["stopped_by"] == "steps"
    assert len(losses(tmp_path / "run")) == 40
