"""`qrtse.training.config_file.set_config_keys`: what the selection commands use to store a choice."""

import json

import pytest

from modeling_qrtse import QrtseConfig
from qrtse.training.config_file import set_config_keys


def test_only_the_given_keys_change(tmp_path):
    QrtseConfig.from_preset("tiny").save_pretrained(tmp_path)
    before = json.loads((tmp_path / "config.json").read_text())
    set_config_keys(tmp_path, refinement_threshold=0.25, class_thresholds={"Bark": 0.4})
    after = json.loads((tmp_path / "config.json").read_text())
    assert after.pop("refinement_threshold") == 0.25 and after.pop("class_thresholds") == {"Bark": 0.4}
    before.pop("refinement_threshold"), before.pop("class_thresholds", None)
    assert after == before
    assert QrtseConfig.from_pretrained(tmp_path).class_thresholds == {"Bark": 0.4}


def test_a_bad_value_leaves_the_file_unchanged(tmp_path):
    QrtseConfig.from_preset("tiny").save_pretrained(tmp_path)
    before = (tmp_path / "config.json").read_text()
    with pytest.raises(ValueError, match="Not_a_class"):
        set_config_keys(tmp_path, class_thresholds={"Not_a_class": 0.4})
    assert (tmp_path / "config.json").read_text() == before
