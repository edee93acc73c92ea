"""The classifier-only training stage: frozen trunk and mask estimator, L_cls only."""

import json
import sys

import pytest
import torch
from safetensors.torch import load_file
from test_train import TINY, build, run  # noqa: F401  (build is a fixture)

from modeling_qrtse import QrtseConfig, QrtseModel
from modeling_qrtse.losses_qrtse import classification_loss
from qrtse.training.classifier_stage import ClassifierStage


def tiny_model(**overrides) -> QrtseModel:
    torch.manual_seed(0)
    return QrtseModel(QrtseConfig.from_preset("tiny", **overrides)).eval()


def test_only_the_classifier_gets_gradients_and_its_loss_is_the_models_l_cls():
    model = tiny_model(classification_positive_weight=2.0, classification_focal_gamma=1.5)
    stage = ClassifierStage(model).train()
    mixture = torch.randn(2, 1600)
    presence = torch.zeros(2, model.config.num_labels)
    presence[0, 3] = presence[1, 7] = 1
    loss = stage(mixture, presence)
    loss.backward()
    trained = {name for name, p in model.named_parameters() if p.grad is not None}
    assert trained == {name for name, _ in model.named_parameters() if name.startswith("classifier.")}
    assert not model.shared_extractor.training and model.classifier.training
    with torch.no_grad():
        expected = classification_loss(model.analyze(mixture).clip_probabilities, presence, 2.0, 1.5)
    assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-5)


def test_a_model_without_classifier_is_refused():
    with pytest.raises(ValueError, match="needs a model with a classifier"):
        ClassifierStage(tiny_model(use_classifier=False))


def test_focal_loss_with_gamma_zero_is_bce_and_fades_confident_terms():
    probabilities = torch.tensor([[0.9, 0.2], [0.6, 0.05]])
    labels = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    assert float(classification_loss(probabilities, labels, 1.0, 0.0)) == pytest.approx(
        float(torch.nn.functional.binary_cross_entropy(probabilities, labels))
    )
    focal = classification_loss(probabilities, labels, 1.0, 2.0)
    terms = -torch.log(torch.tensor([0.9, 0.8, 0.6, 0.05]))
    scales = torch.tensor([0.1, 0.2, 0.4, 0.95]) ** 2
    assert float(focal) == pytest.approx(float((terms * scales).mean()), rel=1e-5)
    with pytest.raises(ValueError, match="classification_focal_gamma"):
        QrtseConfig.from_preset("tiny", classification_focal_gamma=-1.0)


@pytest.mark.slow
def test_classifier_stage_run_keeps_every_other_weight(build, tmp_path):  # noqa: F811
    first = tmp_path / "joint"
    command = [sys.executable, "-m", "qrtse.training.train", TINY, "--data_dir", str(build)]
    result = run([*command, "--output_dir", str(first)])
    assert result.returncode == 0, result.stderr[-3000:]
    stage = tmp_path / "classifier"
    extra = [
        "--init_from",
        str(first / "final"),
        "--train_only_classifier",
        "true",
        "--classification_focal_gamma",
        "2",
    ]
    result = run([*command, "--output_dir", str(stage), *extra])
    assert result.returncode == 0, result.stderr[-3000:]
    before, after = load_file(first / "final" / "model.safetensors"), load_file(stage / "final" / "model.safetensors")
    assert before.keys() == after.keys()
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert changed and all(name.startswith("classifier.") for name in changed)
    assert QrtseConfig.from_pretrained(stage / "final").classification_focal_gamma == 2.0
    assert "macro_f1" in json.loads((stage / "best" / "validation.json").read_text())
