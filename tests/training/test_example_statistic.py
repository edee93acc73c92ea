"""The example-mixture statistic: verdicts per query and the summary over seeded examples."""

import json

import pytest

from modeling_qrtse import QrtseFeatureExtractor
from qrtse.training.example_statistic import judge, main


def test_judge_needs_every_present_class_kept_and_every_absent_one_dropped():
    present = {"Trumpet", "Meow", "Computer_keyboard"}
    assert judge({"query": ["Trumpet", "Bark"], "refined_query": ["Trumpet"]}, present)["correct"]
    missed = judge({"query": ["Trumpet", "Bark"], "refined_query": []}, present)
    assert not missed["correct"] and not missed["kept_present"] and missed["dropped_absent"]
    leaked = judge({"query": ["Trumpet", "Bark"], "refined_query": ["Bark", "Trumpet"]}, present)
    assert not leaked["correct"] and leaked["kept_present"] and not leaked["dropped_absent"]


@pytest.mark.slow
def test_statistic_over_two_seeded_examples(tiny_model, tmp_path):
    tiny_model.save_pretrained(tmp_path / "model")
    QrtseFeatureExtractor().save_pretrained(tmp_path / "model")
    # theta 0 keeps every queried class: the present one is kept and the absent one never dropped
    summary = main(
        [
            "--model",
            str(tmp_path / "model"),
            "--num-examples",
            "2",
            "--threshold",
            "0",
            "--json",
            str(tmp_path / "s.json"),
        ]
    )
    assert summary["demo"] == {"correct": 0.0, "kept_present": 1.0, "dropped_absent": 0.0}
    examples = json.loads((tmp_path / "s.json").read_text())["examples"]
    assert [row["seed"] for row in examples] == [0, 1]
    assert all(row["drawn"]["query"] != row["demo"]["query"] for row in examples)
