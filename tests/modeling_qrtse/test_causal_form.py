import torch

from modeling_qrtse.causal_form_qrtse import KEPT_PARTS, causal_form
from modeling_qrtse.configuration_qrtse import QrtseConfig
from modeling_qrtse.modeling_qrtse import QrtseModel


def test_causal_form_keeps_the_trunk_and_starts_a_fresh_classifier():
    torch.manual_seed(3)
    trained = QrtseModel(QrtseConfig.from_preset("tiny", refinement_threshold=0.3))
    causal = causal_form(trained)
    assert causal.config.causal and not trained.config.causal
    assert causal.config.refinement_threshold == 0.3
    old = trained.state_dict()
    for name, tensor in causal.state_dict().items():
        if name.startswith(KEPT_PARTS):
            assert torch.equal(tensor, old[name]), name
    assert not causal.classifier.gru.bidirectional
    assert torch.equal(causal_form(trained).classifier.gru.weight_hh_l0, causal.classifier.gru.weight_hh_l0)


def test_causal_form_leaves_the_random_stream_alone():
    trained = QrtseModel(QrtseConfig.from_preset("tiny"))
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    causal_form(trained)
    assert torch.equal(torch.rand(3), expected)
