"""Intra-clip evaluation: activity from the stems, region scores, and the evaluate command."""

import json
import sys

import numpy as np
import pytest
import torch
from test_train import ROOT, build, run  # noqa: F401  (build is a fixture)

from modeling_qrtse import QrtseConfig, QrtseModel
from modeling_qrtse.frame_smoothing_qrtse import FrameSmoothing
from qrtse.training.intra_clip_scoring import (
    BASELINES,
    SETTINGS,
    frames_of,
    region_scores,
    sample_activity,
    score_intra_clip,
    settings_for,
)
from qrtse.training.metrics import A_MIX_FLOOR_DB
from qrtse.training.scoring import TABLE_CONDITIONS


def test_activity_spans_each_stem_from_its_first_to_its_last_sound():
    stems = np.zeros((3, 100), np.float32)
    stems[0, 10:20] = 1.0
    stems[0, 15] = 0.0  # a silent sample inside an event stays active
    stems[1, 50:60] = -0.5
    activity = sample_activity(stems, np.array([2, 0, -1]), num_classes=4)
    assert activity[2].nonzero()[0].tolist() == list(range(10, 20))
    assert activity[0].nonzero()[0].tolist() == list(range(50, 60))
    assert not activity[[1, 3]].any()


def test_a_frame_is_active_when_its_window_touches_the_event():
    config = QrtseConfig.from_preset("tiny")  # window 10 ms, hop 5 ms at 16 kHz: 160 / 80 samples
    activity = np.zeros((1, 1600), bool)
    activity[0, 800:880] = True
    frames = frames_of(activity, config)[:, 0]
    assert len(frames) == config.num_frames_of(1600)
    hop, offset, window = config.hop_samples, config.frame_offset_samples, config.window_samples
    expected = [(f * hop - offset < 880) and (f * hop - offset + window > 800) for f in range(len(frames))]
    assert frames.tolist() == expected


def test_region_scores_of_the_baselines():
    rng = np.random.default_rng(0)
    target = torch.zeros(1000)
    target[200:400] = torch.from_numpy(rng.normal(size=200).astype(np.float32))
    mixture = target + 0.1 * torch.from_numpy(rng.normal(size=1000).astype(np.float32))
    active = torch.zeros(1000, dtype=torch.bool)
    active[200:400] = True
    unprocessed = region_scores(mixture, target, mixture, active)
    assert unprocessed["snri"] == pytest.approx(0.0, abs=1e-5) and unprocessed["snri_active"] == pytest.approx(
        0.0, abs=1e-5
    )
    assert unprocessed["attenuation_inactive"] == pytest.approx(0.0, abs=1e-5)
    silent = region_scores(torch.zeros(1000), target, mixture, active)
    assert silent["attenuation_inactive"] == A_MIX_FLOOR_DB
    perfect = region_scores(target, target, mixture, active)
    assert perfect["attenuation_inactive"] == A_MIX_FLOOR_DB and perfect["snri_active"] > 30


def _example(config, rng) -> dict:
    """A 1 s mixture of two classes, each sounding in part of the clip."""
    stems = np.zeros((2, config.sampling_rate), np.float32)
    stems[0, 2000:9000] = rng.normal(size=7000)
    stems[1, 8000:15000] = rng.normal(size=7000)
    presence = np.zeros(config.num_labels, np.float32)
    presence[[0, 1]] = 1.0
    return {"mixture": stems.sum(0), "stems": stems, "stem_labels": np.array([0, 1]), "presence": presence}


@pytest.mark.parametrize("causal", [False, True])
def test_online_refinement_is_a_setting_of_causal_models_only(causal):
    config = QrtseConfig.from_preset("tiny", causal=causal, silence_empty_query=True)  # as the shipped models
    torch.manual_seed(0)
    model = QrtseModel(config).eval()
    settings = settings_for(model)
    assert ("online" in settings) == causal and "chunk" in settings
    assert set(settings) <= set(SETTINGS)
    example = _example(config, np.random.default_rng(0))
    smoothing = FrameSmoothing.from_dict(config.frame_smoothing)
    at_zero = score_intra_clip(model, example, TABLE_CONDITIONS, 0.0, smoothing, [0, 0])
    assert {setting for _, setting in at_zero} == set(settings) | set(BASELINES)
    if causal:  # theta 0 keeps every queried class in every frame: online is the query as given
        assert at_zero[("1:3", "online")] == at_zero[("1:3", "none")]
        # theta above every probability drops every class in every frame: a silent output
        above = score_intra_clip(model, example, TABLE_CONDITIONS, 1.01, smoothing, [0, 0], settings=("online",))
        assert above[("1:0", "online")] == above[("1:0", "silence")]


@pytest.mark.slow
def test_evaluate_intra_clip_command(build, tmp_path):  # noqa: F811
    model_dir = tmp_path / "model"
    train = [sys.executable, "-m", "qrtse.training.train", str(ROOT / "training" / "configs" / "tiny.json")]
    result = run([*train, "--data_dir", str(build), "--output_dir", str(model_dir)])
    assert result.returncode == 0, result.stderr[-3000:]
    command = [
        sys.executable, "-m", "qrtse.training.evaluate", "--intra-clip", "--model", f"tiny={model_dir / 'final'}",
        "--data-dir", str(build), "--split", "test", "--output-dir", str(tmp_path / "eval"),
    ]  # fmt: skip
    result = run(command)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "eval" / "intra_clip.json").read_text())
    assert results["num_mixtures"] == 4
    for setting in [s for s in SETTINGS if s != "online"] + list(BASELINES):  # online: causal models only
        assert "snri_active" in results["scores"][f"1:0|{setting}"], setting
        assert "attenuation_inactive" in results["scores"][f"0:1|{setting}"], setting
    scores = results["scores"]
    assert scores["1:0|mixture"]["snri"] == pytest.approx(0.0, abs=1e-4)
    assert scores["0:1|silence"]["attenuation_inactive"] == A_MIX_FLOOR_DB
    assert scores["1:0|oracle"]["snri"] == pytest.approx(scores["1:0|none"]["snri"], abs=1e-4)  # the target is present
    table = (tmp_path / "eval" / "intra_clip.md").read_text()
    assert "oracle-frame (stems' activity)" in table and "frame-level refinement" in table
    assert (tmp_path / "eval" / "intra_clip.png").stat().st_size > 0
