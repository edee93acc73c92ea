"""Choosing frame-level refinement's smoothing on validation and storing it in the config."""

import json
import sys

from test_train import ROOT, build, run  # noqa: F401  (build is a fixture)

from modeling_qrtse import QrtseConfig


def test_selection_writes_the_chosen_smoothing_into_the_config(build, tmp_path):  # noqa: F811
    model_dir = tmp_path / "model"
    train = [sys.executable, "-m", "qrtse.training.train", str(ROOT / "training" / "configs" / "tiny.json")]
    result = run([*train, "--data_dir", str(build), "--output_dir", str(model_dir)])
    assert result.returncode == 0, result.stderr[-3000:]
    grid = {"threshold": [None], "median_s": [0.0], "min_gap_s": [0.0], "min_event_s": [0.0], "pad_s": [0.05, 0.2]}
    command = [
        sys.executable, "-m", "qrtse.training.select_frame_smoothing", "--model", str(model_dir / "final"),
        "--intra-clip-dir", str(build), "--standard-dir", str(build), "--grid", json.dumps(grid),
        "--max-fmq-loss", "100", "--json", str(tmp_path / "selection.json"), "--write",
    ]  # fmt: skip
    result = run(command)
    assert result.returncode == 0, result.stderr[-3000:]
    selection = json.loads((tmp_path / "selection.json").read_text())
    assert len(selection["candidates"]) == 2
    chosen = selection["chosen"]["frame_smoothing"]
    assert chosen["pad_s"] in (0.05, 0.2)
    assert QrtseConfig.from_pretrained(model_dir / "final").frame_smoothing["pad_s"] == chosen["pad_s"]
