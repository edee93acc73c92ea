import numpy as np
import pytest
import torch

from qrtse.training.metrics import snr, snr_improvement
from qrtse.training.scoring import Condition, class_aware_sdri, per_class_detection, refined_query, to_model_labels
from tests.modeling_qrtse.causal_helpers import THRESHOLD, mixture, query, tiny_causal_model


def test_silent_output_scores_minus_the_input_snr():
    rng = np.random.default_rng(0)
    target, noise = torch.from_numpy(rng.normal(size=800)), torch.from_numpy(rng.normal(size=800))
    mixture = target + 2 * noise
    silence = snr_improvement(torch.zeros_like(target), target, mixture)
    assert float(silence) == pytest.approx(-float(snr(mixture, target)), abs=1e-9)


def test_class_aware_sdri_scores_wrong_decisions_zero():
    conditions = (Condition(1, 0), Condition(1, 2))
    presence = torch.tensor([1.0, 0.0, 0.0, 1.0])
    queried = {"1:0": torch.tensor([1.0, 0, 0, 0]), "1:2": torch.tensor([1.0, 1, 1, 0])}
    scores = {("1:0", 0.0): 12.0, ("1:0", 0.3): 12.0, ("1:0", "oracle"): 12.0}
    kept = {
        ("1:0", 0.0): queried["1:0"],
        ("1:0", 0.3): torch.tensor([0.0, 0, 0, 0]),
        ("1:0", "oracle"): queried["1:0"],
        ("1:2", 0.0): queried["1:2"],
        ("1:2", 0.3): torch.tensor([0.0, 1, 0, 0]),
        ("1:2", "oracle"): queried["1:0"],
    }
    out = class_aware_sdri(scores, kept, queried, presence, conditions, (0.0, 0.3, "oracle"))
    assert out[("1:0", 0.0)] == 12.0 and out[("1:0", "oracle")] == 12.0
    assert out[("1:0", 0.3)] == 0.0  # the target was dropped
    assert out[("1:2", 0.0)] == pytest.approx(4.0)  # two absent classes kept: 12 / 3
    assert out[("1:2", 0.3)] == 0.0 and out[("1:2", "oracle")] == 12.0


def test_per_class_detection_counts():
    probabilities = torch.tensor([[0.9, 0.1], [0.2, 0.6], [0.8, 0.7]])
    presences = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    rows = per_class_detection(probabilities, presences, 0.5, ["a", "b"])
    assert rows["a"] == {"recall": 0.5, "false_positive_rate": 1.0, "present": 2, "absent": 1}
    assert rows["b"]["recall"] == 1.0 and rows["b"]["false_positive_rate"] == 0.0


def test_examples_move_to_the_model_vocabulary_unknown_classes_stay_interference():
    example = {
        "presence": np.array([1, 1, 0], np.float32),
        "stem_labels": np.array([0, 1, -1]),
        "stems": np.zeros((3, 4)),
    }
    mapped = to_model_labels(example, ["Laughter", "Bark", "Meow"], ["Bark", "Meow", "Trumpet"])
    assert mapped["presence"].tolist() == [1.0, 0.0, 0.0] and mapped["stem_labels"].tolist() == [-1, 0, -1]
    only_unknown = {**example, "stem_labels": np.array([0, -1, -1])}
    assert to_model_labels(only_unknown, ["Laughter", "Bark", "Meow"], ["Bark", "Meow"]) is None


def test_a_causal_model_is_scored_with_online_refinement():
    model = tiny_causal_model()
    multi_hot = query(model, 1)[:, 0]
    with torch.no_grad():
        analysis = model.analyze(mixture(1))
        online = refined_query(model, multi_hot, analysis, multi_hot, THRESHOLD)
        assert torch.equal(online, model.refine_online(multi_hot[:, None], analysis, THRESHOLD)[:, 0])
        assert not torch.equal(online[:, :1].expand_as(online), online)  # it varies over time
        unrefined = refined_query(model, multi_hot, analysis, multi_hot, 0.0)
    assert unrefined.shape == online.shape and torch.equal(unrefined[0, 0], multi_hot[0])
