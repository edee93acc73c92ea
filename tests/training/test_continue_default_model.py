"""One bounded stage at toy size: train under a budget, judge on validation, ship only if better."""

import json
import sys

import pytest
from test_train import run, train_command
from tiny_build import write_tiny_build

from qrtse.training.continue_default_model import next_stage, stage_arguments


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    """A tiny build (standing in for builtin-real, builtin and real) and a tiny 'shipped' model."""
    root = tmp_path_factory.mktemp("stage")
    build = write_tiny_build(root / "tiny")
    for split in ("builtin", "real"):
        (root / "data").mkdir(exist_ok=True)
        (root / "data" / split).symlink_to(build)
    trained = run(train_command(build, root / "run"))
    assert trained.returncode == 0, trained.stderr[-3000:]
    exported = run(
        [
            sys.executable,
            "-m",
            "qrtse.training.export_default_model",
            str(root / "run" / "final"),
            "--output",
            str(root / "shipped"),
        ]
    )
    assert exported.returncode == 0, exported.stderr[-3000:]
    return root, build


def stage_command(root, build, *extra):
    return [
        sys.executable,
        "-m",
        "qrtse.training.continue_default_model",
        "--minutes",
        "0.05",
        "--shipped",
        str(root / "shipped"),
        "--data_dir",
        str(build),
        "--data_root",
        str(root / "data"),
        "--num_mixtures",
        "2",
        "--results_root",
        str(root / "results"),
        "--runs_root",
        str(root / "runs"),
        *extra,
    ]


def test_stages_are_numbered_after_v3s(tmp_path):
    assert next_stage(tmp_path) == 9
    (tmp_path / "09").mkdir()
    (tmp_path / "notes").mkdir()
    assert next_stage(tmp_path) == 10


def test_the_stage_continues_the_shipped_recipe(setting, tmp_path):
    root, build = setting

    class Args:
        data_dir, learning_rate, seed, num_threads, mixed_precision = str(build), None, 9, 1, "no"

    argv = stage_arguments(root / "shipped", Args, tmp_path / "out", steps=450)
    values = dict(zip(argv[::2], argv[1::2]))
    recipe = json.loads((root / "shipped" / "training_args.json").read_text())
    assert values["--init_from"] == str(root / "shipped")
    assert values["--preset"] == recipe["model"]["preset"]
    assert values["--batch_size"] == str(recipe["train"]["batch_size"])
    assert values["--segment_seconds"] == str(recipe["data"]["segment_seconds"])
    assert int(values["--epochs"]) * int(values["--steps_per_epoch"]) >= 450  # the schedule covers the plan
    assert values["--seed"] == "9"


@pytest.mark.slow
def test_a_stage_trains_within_its_budget_judges_on_validation_and_records_the_decision(setting):
    root, build = setting
    shipped_weights = (root / "shipped" / "model.safetensors").read_bytes()
    result = run(stage_command(root, build, "--no_ship"))
    assert result.returncode == 0, result.stderr[-3000:]
    stage = root / "results" / "09"
    decision = json.loads((stage / "decision.json").read_text())
    assert decision["training"]["stopped_by"] == "time budget"
    assert 0 < decision["training"]["step"] < json.loads((stage / "plan.json").read_text())["planned_steps"]
    for name in ("shipped", "candidate"):
        for split in ("builtin", "real"):
            results = json.loads((stage / f"{name}-{split}-validation" / "results.json").read_text())
            assert results["split"] == "validation" and results["num_mixtures"] == 2
        assert str(decision[name]["theta"]) in decision[name]["by_theta"]
    assert decision["shipped_candidate"] is False
    assert (root / "shipped" / "model.safetensors").read_bytes() == shipped_weights
    assert "stage 9: candidate" in result.stdout

    # A rerun of the same stage does not retrain; --no_ship dropped, it ships exactly when better.
    again = run(stage_command(root, build, "--stage", "9"))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "has finished training" in again.stdout
    decision = json.loads((stage / "decision.json").read_text())
    better = decision["candidate"]["criterion"] > decision["shipped"]["criterion"]
    assert decision["shipped_candidate"] is better
    assert ((root / "shipped" / "model.safetensors").read_bytes() != shipped_weights) is better
    if better:
        config = json.loads((root / "shipped" / "config.json").read_text())
        assert config["refinement_threshold"] == decision["candidate"]["theta"]
