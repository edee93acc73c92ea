import math

import pytest
import torch

from qrtse.training.metrics import A_MIX_FLOOR_DB, macro_f1, mixture_attenuation, snr, snr_improvement


def test_snr_by_hand():
    target = torch.ones(1000)
    assert snr(0.9 * target, target).item() == pytest.approx(20.0, abs=1e-4)


def test_snri_is_relative_to_the_mixture():
    target = torch.randn(1000)
    mixture = target + 0.1 * torch.randn(1000)
    estimate = target + 0.01 * (mixture - target)  # 40 dB cleaner than the mixture's residual
    assert snr_improvement(estimate, target, mixture).item() == pytest.approx(40.0, abs=1e-3)
    assert snr_improvement(mixture, target, mixture).item() == pytest.approx(0.0, abs=1e-6)


def test_a_mix_eq9_and_its_floor():
    mixture = torch.randn(1000)
    assert mixture_attenuation(0.01 * mixture, mixture).item() == pytest.approx(-40.0, abs=1e-4)
    assert mixture_attenuation(torch.zeros(1000), mixture).item() == A_MIX_FLOOR_DB


def test_macro_f1_by_hand():
    labels = torch.tensor([[1, 0, 0], [1, 1, 0], [0, 1, 0]])
    predictions = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 1, 1]])
    # class 0: tp 1, pred 1, actual 2 -> 2/3; class 1: tp 2, pred 2, actual 2 -> 1; class 2: 0
    assert macro_f1(predictions, labels) == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert math.isnan(macro_f1(torch.zeros(2, 2), torch.zeros(2, 2)))
