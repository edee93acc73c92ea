import pytest
import torch

from modeling_qrtse.refinement_qrtse import refine_query


def test_threshold_removes_classes_predicted_absent():
    query = torch.tensor([[1.0, 1.0, 0.0, 1.0]])
    presence = torch.tensor([[0.9, 0.04, 0.9, 0.05]])
    assert refine_query(query, presence, 0.05).tolist() == [[1.0, 0.0, 0.0, 1.0]]


def test_threshold_zero_keeps_the_query():
    query = torch.tensor([[1.0, 0.0, 1.0]])
    assert torch.equal(refine_query(query, torch.zeros(1, 3), 0.0), query)


def test_multi_query_refinement_broadcasts_over_queries():
    query = torch.tensor([[[1.0, 1.0], [0.0, 1.0]]])
    presence = torch.tensor([[0.8, 0.1]])
    assert refine_query(query, presence, 0.5).tolist() == [[[1.0, 0.0], [0.0, 0.0]]]


def test_model_refines_with_its_classifier(tiny_model):
    torch.manual_seed(1)
    waveform = torch.randn(2, 1600)
    query = torch.ones(2, tiny_model.config.num_labels)
    output = tiny_model(waveform, query, threshold=0.5)
    expected = (output.clip_probabilities >= 0.5).float()
    assert torch.equal(output.refined_query, expected)


def test_oracle_refinement_uses_true_presence(tiny_model):
    waveform = torch.randn(1, 1600)
    query = torch.zeros(1, tiny_model.config.num_labels)
    query[0, [1, 2, 3]] = 1
    oracle = torch.zeros_like(query)
    oracle[0, [2, 7]] = 1
    output = tiny_model(waveform, query, oracle_presence=oracle)
    assert output.refined_query.nonzero()[:, 1].tolist() == [2]


@pytest.mark.parametrize("silence", [True, False])
def test_all_inactive_query(tiny_config, silence):
    from modeling_qrtse import QrtseModel

    tiny_config.silence_empty_query = silence
    model = QrtseModel(tiny_config).eval()
    waveform = torch.randn(1, 1600)
    query = torch.zeros(1, tiny_config.num_labels)
    query[0, :3] = 1
    output = model(waveform, query, oracle_presence=torch.zeros_like(query))
    assert output.refined_query.sum() == 0
    assert torch.isfinite(output.extracted_values).all()
    # Documented: exact zeros with silence_empty_query, else the network's zero-query output,
    # which does not depend on which classes were asked for.
    if silence:
        assert output.extracted_values.abs().max() == 0
    else:
        other = torch.zeros_like(query)
        other[0, 5] = 1
        reference = model(waveform, other, oracle_presence=torch.zeros_like(query)).extracted_values
        assert torch.equal(output.extracted_values, reference)


def test_baseline_without_classifier_cannot_refine_from_predictions(tiny_config):
    from modeling_qrtse import QrtseModel

    tiny_config.use_classifier = False
    model = QrtseModel(tiny_config).eval()
    query = torch.zeros(1, tiny_config.num_labels)
    query[0, 0] = 1
    with pytest.raises(ValueError, match="no classifier"):
        model(torch.randn(1, 800), query, threshold=0.1)
    output = model(torch.randn(1, 800), query, threshold=0.0)
    assert output.clip_probabilities is None
