"""Per-class thresholds: the CA-SDRi criterion without extraction, the fit, and `--write`."""

import numpy as np
import pytest
import torch
from tiny_build import write_tiny_build

from modeling_qrtse import QrtseConfig, QrtseModel
from qrtse.training.data_loading import class_names
from qrtse.training.select_class_thresholds import (
    ValidationDecisions,
    cross_validate,
    fit_class_thresholds,
    main,
    sweep_ca_sdri,
)


def decisions(probabilities, target, snri, inactive) -> ValidationDecisions:
    probabilities = np.asarray(probabilities, dtype=np.float32)
    queried = {n: np.asarray(rows, dtype=np.float32) for n, rows in inactive.items()}
    return ValidationDecisions(
        probabilities, np.asarray(target), np.asarray(snri, float), queried, np.zeros(len(target), int)
    )


def test_ca_sdri_counts_a_dropped_target_and_kept_absent_classes():
    # one mixture, target class 0 (SNRi 10 dB); the 1:1 query adds class 1, which the classifier hears
    d = decisions([[0.6, 0.7, 0.1]], [0], [10.0], {0: [[0, 0, 0]], 1: [[0, 1, 0]]})
    assert sweep_ca_sdri(d, np.array([0.5, 0.5, 0.5])) == pytest.approx((10.0 + 10.0 / 2) / 2)
    assert sweep_ca_sdri(d, np.array([0.5, 0.8, 0.5])) == pytest.approx(10.0)  # absent class dropped
    assert sweep_ca_sdri(d, np.array([0.65, 0.8, 0.5])) == 0.0  # target dropped


def test_each_class_gets_its_own_threshold_where_it_has_enough_targets():
    rng = np.random.default_rng(0)
    rows, targets, absent = [], [], []
    for i in range(200):
        target = i % 2  # class 0: a timid classifier (p ~ 0.25 present); class 1: a confident one
        p = np.array([0.05, 0.45, 0.05]) + rng.uniform(0, 0.05, 3)
        p[target] = (0.25 if target == 0 else 0.85) + rng.uniform(0, 0.05)
        rows.append(p)
        targets.append(target)
        absent.append(np.eye(3)[1 - target])  # the 1:1 query adds the other class
    d = decisions(rows, targets, np.full(200, 10.0), {0: np.zeros((200, 3)), 1: absent})
    grid = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
    global_theta, thresholds = fit_class_thresholds(d, grid, min_targets=10)
    assert thresholds[0] <= 0.2 and thresholds[1] >= 0.5 and thresholds[2] == global_theta  # class 2 never a target
    assert sweep_ca_sdri(d, thresholds) > sweep_ca_sdri(d, np.full(3, global_theta))
    held_out = cross_validate(d, grid, min_targets=10, folds=2)
    assert held_out["per_class"] > held_out["global"]


def test_write_stores_the_fitted_thresholds_in_the_config(tmp_path):
    build = write_tiny_build(tmp_path / "tiny", num_validation=6)
    labels = class_names(build)
    torch.manual_seed(0)
    config = QrtseConfig.from_preset("tiny", id2label=dict(enumerate(labels)), refinement_threshold=0.9)
    QrtseModel(config).save_pretrained(tmp_path / "model")
    report = main(
        ["--model", str(tmp_path / "model"), "--data-dir", str(build), "--grid", "0.1", "0.3", "--min-targets", "1"]
        + ["--folds", "1", "--write"]
    )
    saved = QrtseConfig.from_pretrained(tmp_path / "model")
    assert saved.class_thresholds == report["refinement_thresholds"] and set(saved.class_thresholds) == set(labels)
    assert saved.refinement_threshold == report["global_threshold"] in (0.1, 0.3)
