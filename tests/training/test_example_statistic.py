"""The shipped examples' rule and the statistic over the first mixtures it gives."""

import json

import pytest
from tiny_build import LABELS, write_tiny_build

from modeling_qrtse import QrtseConfig, QrtseFeatureExtractor, QrtseModel
from qrtse.training import real_examples
from qrtse.training.example_statistic import judge, main
from qrtse.training.real_examples import rule_examples


def test_judge_needs_every_present_class_kept_and_every_absent_one_dropped():
    present = {"Trumpet", "Meow", "Computer_keyboard"}
    assert judge({"query": ["Trumpet", "Bark"], "refined_query": ["Trumpet"]}, present)["correct"]
    missed = judge({"query": ["Trumpet", "Bark"], "refined_query": []}, present)
    assert not missed["correct"] and not missed["kept_present"] and missed["dropped_absent"]
    leaked = judge({"query": ["Trumpet", "Bark"], "refined_query": ["Bark", "Trumpet"]}, present)
    assert not leaked["correct"] and leaked["kept_present"] and not leaked["dropped_absent"]


@pytest.fixture(scope="module")
def tiny_setting(tmp_path_factory):
    """A tiny build (standing in for data/real) and a tiny model with its vocabulary."""
    root = tmp_path_factory.mktemp("examples")
    build = write_tiny_build(root / "tiny")
    model = QrtseModel(QrtseConfig.from_preset("tiny", id2label=dict(enumerate(LABELS)))).eval()
    model.save_pretrained(root / "model")
    QrtseFeatureExtractor().save_pretrained(root / "model")
    return build, root / "model"


@pytest.mark.slow
def test_statistic_over_the_first_mixtures_by_the_rule(tiny_setting, tmp_path):
    build, model = tiny_setting
    # theta 0 keeps every queried class: the present one is kept and the absent one never dropped
    argv = ["--model", str(model), "--data-dir", str(build), "--num-examples", "2", "--threshold", "0"]
    summary = main([*argv, "--json", str(tmp_path / "s.json")])
    assert summary == {**summary, "num_examples": 2, "correct": 0.0, "kept_present": 1.0, "dropped_absent": 0.0}
    examples = json.loads((tmp_path / "s.json").read_text())["examples"]
    assert [row["split_index"] for row in examples] == [0, 1]
    assert all(len(row["query"]) == 2 for row in examples)


def test_the_rule_takes_the_first_mixtures_with_one_present_and_one_absent_class(tiny_setting, tmp_path, monkeypatch):
    build, _ = tiny_setting
    chosen = rule_examples(build, 3)
    assert [index for index, *_ in chosen] == [0, 1, 2]
    for index, row, query, present in chosen:
        assert query[0] in present and query[1] not in present
    assert rule_examples(build, 3)[2][2] == chosen[2][2]  # seeded: the same queries every time
    monkeypatch.setattr(real_examples, "clip_licences", dict)
    entries = real_examples.write_examples(build, 2, tmp_path / "examples")
    index = json.loads((tmp_path / "examples" / "examples.json").read_text())
    assert index["examples"] == entries and "first 2 mixtures" in index["rule"]
    assert (tmp_path / "examples" / "real_1.flac").read_bytes() == chosen[0][1]["mixture"]["bytes"]
    assert len(entries[0]["recordings"]) == len(chosen[0][3]) + 1  # the events and the background
