"""The intra-clip selectors' shared grid and criterion."""

import numpy as np
import pytest
import torch
from test_intra_clip_scoring import _example

from modeling_qrtse import QrtseConfig, QrtseModel
from modeling_qrtse.frame_smoothing_qrtse import FrameSmoothing
from qrtse.training.intra_clip_scoring import score_intra_clip
from qrtse.training.intra_clip_selection import INTRA_CLIP_CONDITIONS, candidates, intra_clip_criterion


def test_candidates_are_the_grids_product():
    assert candidates({"pad_s": [0.1, 0.3], "median_s": [0.0]}) == [
        {"pad_s": 0.1, "median_s": 0.0},
        {"pad_s": 0.3, "median_s": 0.0},
    ]


@pytest.mark.parametrize("setting", ["none", "frame"])
def test_the_criterion_is_the_mean_whole_clip_snri_over_fmq_and_pmq(setting):
    config = QrtseConfig.from_preset("tiny", silence_empty_query=True)
    torch.manual_seed(0)
    model = QrtseModel(config).eval()
    examples = [_example(config, np.random.default_rng(seed)) for seed in (0, 1)]
    labels = [config.id2label[i] for i in range(config.num_labels)]
    smoothing = FrameSmoothing.from_dict(config.frame_smoothing)
    theta = config.refinement_threshold
    per_example = [
        score_intra_clip(model, example, INTRA_CLIP_CONDITIONS, theta, smoothing, [0, index], settings=(setting,))
        for index, example in enumerate(examples)
    ]
    expected = np.mean([[scored[(c.name, setting)]["snri"] for c in INTRA_CLIP_CONDITIONS] for scored in per_example])
    criterion = intra_clip_criterion(model, examples, labels, smoothing=None, setting=setting)
    assert [c.name for c in INTRA_CLIP_CONDITIONS] == ["1:0", "1:1", "1:3"]
    assert criterion == pytest.approx(expected, abs=1e-5)
