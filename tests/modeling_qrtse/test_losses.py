import math

import pytest
import torch

from modeling_qrtse.losses_qrtse import classification_loss, extraction_loss, inactive_sample_loss, thresholded_snr_loss


def test_perfect_estimate_hits_the_snr_max_ceiling():
    target = torch.randn(3, 800)
    assert torch.allclose(thresholded_snr_loss(target, target, 30.0), torch.full((3,), -30.0), atol=1e-4)


def test_thresholded_snr_by_hand():
    # error = target / 10 -> |e|^2 = |s|^2 / 100 -> SNR = 10 log10(1 / (0.01 + 0.001))
    target = torch.randn(1, 1000)
    expected = -10 * math.log10(1 / (0.01 + 0.001))
    assert thresholded_snr_loss(0.9 * target, target, 30.0).item() == pytest.approx(expected, abs=1e-3)


def test_silent_target_uses_the_inactive_loss():
    mixture = torch.randn(2, 1000)
    estimate = 0.1 * mixture  # output 20 dB below the mixture
    silent = torch.zeros(2, 1000)
    expected = 10 * math.log10(0.01 + 1e-3)
    assert extraction_loss(estimate, silent, mixture, 30.0).item() == pytest.approx(expected, abs=1e-3)
    assert inactive_sample_loss(torch.zeros(2, 1000), mixture, 30.0).allclose(torch.full((2,), -30.0))


def test_mixed_batch_averages_both_losses_and_gradients_are_finite():
    mixture = torch.randn(2, 500)
    target = torch.stack([mixture[0], torch.zeros(500)])
    estimate = (0.5 * mixture).requires_grad_()
    loss = extraction_loss(estimate, target, mixture, 30.0)
    expected = (
        thresholded_snr_loss(estimate[:1], target[:1], 30.0) + inactive_sample_loss(estimate[1:], mixture[1:], 30.0)
    ) / 2
    assert loss.item() == pytest.approx(expected.item(), abs=1e-4)
    loss.backward()
    assert torch.isfinite(estimate.grad).all()


def test_classification_loss_is_bce():
    probabilities = torch.tensor([[0.9, 0.2]])
    labels = torch.tensor([[1.0, 0.0]])
    expected = -(math.log(0.9) + math.log(0.8)) / 2
    assert classification_loss(probabilities, labels).item() == pytest.approx(expected, abs=1e-6)


def test_positive_weight_scales_only_the_present_classes_terms():
    from modeling_qrtse.losses_qrtse import classification_loss

    probabilities = torch.tensor([[0.2, 0.3, 0.9]])
    labels = torch.tensor([[1.0, 0.0, 0.0]])
    plain = classification_loss(probabilities, labels)
    assert torch.allclose(plain, torch.nn.functional.binary_cross_entropy(probabilities, labels))
    weighted = classification_loss(probabilities, labels, positive_weight=3.0)
    positive_term = -torch.log(torch.tensor(0.2)) / 3
    assert torch.allclose(weighted - plain, 2 * positive_term)
