import pytest

from modeling_qrtse import FSD_KAGGLE_2018_LABELS, QrtseConfig


def test_defaults_are_the_paper_preset():
    assert QrtseConfig().to_dict() == QrtseConfig.from_preset("paper").to_dict()


def test_default_vocabulary_is_fsdkaggle2018():
    config = QrtseConfig()
    assert config.num_labels == 41
    assert [config.id2label[i] for i in range(41)] == list(FSD_KAGGLE_2018_LABELS)
    assert config.label2id["Bark"] == FSD_KAGGLE_2018_LABELS.index("Bark")


def test_paper_encoder_geometry():
    config = QrtseConfig.from_preset("paper")
    assert (config.window_samples, config.hop_samples, config.frame_rate) == (80, 40, 400.0)


def test_custom_vocabulary():
    config = QrtseConfig.from_preset("tiny", id2label={0: "a", 1: "b"})
    assert config.num_labels == 2 and config.label2id == {"a": 0, "b": 1}


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"encoder_filters": 0}, "encoder_filters"),
        ({"hidden_channels": 2.5}, "hidden_channels"),
        ({"norm_type": "batch"}, "norm_type"),
        ({"refinement_threshold": 1.5}, "refinement_threshold"),
        ({"classifier_pooling": "attention"}, "classifier_pooling"),
        ({"hop_ms": 10.0}, "hop"),
        ({"classifier_hidden_size": 7}, "classifier_hidden_size"),
        ({"snr_max": 0}, "snr_max"),
    ],
)
def test_invalid_values_name_the_problem(overrides, message):
    with pytest.raises(ValueError, match=message):
        QrtseConfig.from_preset("tiny", **overrides)


def test_unknown_preset():
    with pytest.raises(ValueError, match="Unknown preset 'huge'"):
        QrtseConfig.from_preset("huge")


def test_label2id_alone_defines_the_vocabulary():
    config = QrtseConfig.from_preset("tiny", label2id={"a": 0, "b": 1})
    assert config.id2label == {0: "a", 1: "b"} and config.num_labels == 2
