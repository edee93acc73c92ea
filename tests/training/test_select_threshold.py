import json

import pytest

from qrtse.training.scoring import SWEEP_CONDITIONS
from qrtse.training.select_threshold import choose_threshold, main


def results_with(means: dict, split="validation") -> dict:
    scores = {f"{c.name}|{theta}": value for theta, value in means.items() for c in SWEEP_CONDITIONS}
    return {"split": split, "thresholds": list(means), "systems": {"proposed": {"scores": scores, "ca_sdri": scores}}}


def test_highest_mean_wins_and_ties_go_to_the_smaller_theta():
    assert (
        choose_threshold(results_with({0.0: 5.0, 0.1: 7.0, 0.2: 6.0})["systems"]["proposed"], [0.0, 0.1, 0.2])[0] == 0.1
    )
    assert choose_threshold(results_with({0.05: 7.0, 0.1: 7.0})["systems"]["proposed"], [0.05, 0.1])[0] == 0.05


def test_refuses_test_split_results(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results_with({0.1: 1.0}, split="test")))
    with pytest.raises(ValueError, match="validation split"):
        main([str(path)])


def test_writes_the_threshold_into_the_model_config(tiny_model, tmp_path):
    tiny_model.save_pretrained(tmp_path / "model")
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results_with({0.0: 1.0, 0.15: 2.0})))
    assert main([str(path), "--model", str(tmp_path / "model")]) == 0.15
    assert json.loads((tmp_path / "model" / "config.json").read_text())["refinement_threshold"] == 0.15


def test_several_validation_splits_are_averaged(tmp_path):
    builtin, real = tmp_path / "builtin.json", tmp_path / "real.json"
    builtin.write_text(json.dumps(results_with({0.1: 8.0, 0.3: 6.0})))
    real.write_text(json.dumps(results_with({0.1: 1.0, 0.3: 4.0})))
    assert main([str(builtin)]) == 0.1
    assert main([str(builtin), str(real)]) == 0.3  # 5.0 vs 4.5


def test_ca_sdri_is_the_default_criterion(tmp_path):
    results = results_with({0.1: 5.0, 0.3: 6.0})
    results["systems"]["proposed"]["ca_sdri"] = {
        f"{c.name}|{t}": v for t, v in {0.1: 4.0, 0.3: 2.0}.items() for c in SWEEP_CONDITIONS
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    assert main([str(path)]) == 0.1
    assert main([str(path), "--criterion", "snri"]) == 0.3
