"""Regression guard for the shipped default model: its scores on the toy built-in test mixtures
are pinned, so a change to the model code, the checkpoint or the refinement that moves them fails.

A new default model is pinned on purpose, after its results are published:

    python tests/training/test_shipped_model_guard.py --pin
"""

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import pytest

from modeling_qrtse import QrtseModel
from modeling_qrtse.default_checkpoint import default_model_path
from qrtse.training.build_dataset import build, toy_builtin_arguments
from qrtse.training.data_loading import class_names, frozen_examples
from qrtse.training.scoring import TABLE_CONDITIONS, evaluate_model

PINNED = Path(__file__).with_name("shipped_model_scores.json")
TOLERANCE_DB = 0.05  # float rounding across machines is far below this; a real change is not


def checkpoint_digest() -> str:
    return hashlib.sha256((default_model_path() / "model.safetensors").read_bytes()).hexdigest()


def shipped_scores(build_dir) -> dict:
    """Mean SNRi / CA-SDRi per Table 1 condition at theta = 0 and at the shipped theta."""
    model = QrtseModel.from_pretrained(default_model_path()).eval()
    summary = evaluate_model(
        model,
        frozen_examples(build_dir, "test"),
        conditions=TABLE_CONDITIONS,
        thresholds=(0.0, model.config.refinement_threshold),
        dataset_labels=class_names(build_dir),
    )
    return {"scores": summary["scores"], "ca_sdri": summary["ca_sdri"], "num_mixtures": summary["num_mixtures"]}


@pytest.mark.slow
def test_shipped_model_scores_are_the_pinned_ones(toy_builtin_build):
    pinned = json.loads(PINNED.read_text())
    assert checkpoint_digest() == pinned["checkpoint_sha256"], (
        "the default checkpoint changed: publish its results, then re-pin with "
        "`python tests/training/test_shipped_model_guard.py --pin`"
    )
    measured = shipped_scores(toy_builtin_build)
    assert measured["num_mixtures"] == pinned["num_mixtures"]
    for group in ("scores", "ca_sdri"):
        assert measured[group].keys() == pinned[group].keys()
        moved = {
            key: (pinned[group][key], value)
            for key, value in measured[group].items()
            if abs(value - pinned[group][key]) > TOLERANCE_DB
        }
        assert not moved, f"{group} moved by more than {TOLERANCE_DB} dB (pinned, measured): {moved}"


def pin() -> None:
    with tempfile.TemporaryDirectory() as folder:
        build_dir = build(*toy_builtin_arguments(Path(folder) / "data"))
        record = {"checkpoint_sha256": checkpoint_digest(), **shipped_scores(build_dir)}
    PINNED.write_text(json.dumps(record, indent=2) + "\n")
    print(f"pinned {PINNED}")


if __name__ == "__main__" and sys.argv[1:] == ["--pin"]:
    pin()
