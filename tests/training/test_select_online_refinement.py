"""Choosing a causal model's online-refinement timing on validation and storing it in the config."""

import json

import pytest
import torch
from test_train import build  # noqa: F401  (a fixture)

from modeling_qrtse import QrtseConfig, QrtseModel
from qrtse.training import select_online_refinement
from qrtse.training.data_loading import class_names


def save_tiny(folder, build, causal=True):  # noqa: F811
    torch.manual_seed(0)
    labels = dict(enumerate(class_names(build)))
    QrtseModel(QrtseConfig.from_preset("tiny", causal=causal, id2label=labels)).eval().save_pretrained(folder)
    return folder


def select(model_dir, build, tmp_path, *extra):  # noqa: F811
    argv = ["--model", str(model_dir), "--intra-clip-dir", str(build), "--json", str(tmp_path / "selection.json")]
    return select_online_refinement.main([*argv, *extra])


def test_the_current_timing_is_scored_first_and_the_chosen_one_written(build, tmp_path):  # noqa: F811
    model_dir = save_tiny(tmp_path / "model", build)
    grid = {"presence_window_s": [0.25, 1.0], "release_s": [0.5]}
    chosen = select(model_dir, build, tmp_path, "--grid", json.dumps(grid), "--write")
    selection = json.loads((tmp_path / "selection.json").read_text())
    timings = [row["timing"] for row in selection["candidates"]]
    assert timings == [{"presence_window_s": 1.0, "release_s": 0.5}, {"presence_window_s": 0.25, "release_s": 0.5}]
    scores = [row["intra_clip_snri"] for row in selection["candidates"]]
    assert chosen["intra_clip_snri"] == max(scores)
    config = QrtseConfig.from_pretrained(model_dir)
    assert (config.presence_window_s, config.release_s) == tuple(chosen["timing"].values())


def test_a_model_that_is_not_causal_is_refused(build, tmp_path):  # noqa: F811
    model_dir = save_tiny(tmp_path / "model", build, causal=False)
    with pytest.raises(SystemExit, match="not causal"):
        select(model_dir, build, tmp_path)


def test_an_unknown_grid_parameter_is_refused(build, tmp_path, capsys):  # noqa: F811
    with pytest.raises(SystemExit):
        select(tmp_path / "unused", build, tmp_path, "--grid", '{"theta": [0.3]}')
    assert "--grid takes" in capsys.readouterr().err
