import math

import pytest
import torch

from qrtse.training.metrics import (
    A_MIX_FLOOR_DB,
    class_aware_sdri,
    macro_f1,
    mixture_attenuation,
    snr,
    snr_improvement,
)


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


@pytest.mark.parametrize(
    "metric, arguments",
    [
        (snr, ("estimate", "target")),
        (snr_improvement, ("estimate", "target", "mixture")),
        (mixture_attenuation, ("estimate", "mixture")),
    ],
)
@pytest.mark.parametrize(
    "bad, message", [(torch.tensor([1.0, math.nan]), "NaN or Inf"), (torch.tensor([1.0, math.inf]), "NaN or Inf")]
)
def test_non_finite_inputs_are_refused(metric, arguments, bad, message):
    for name in arguments:
        signals = {argument: torch.tensor([1.0, -0.5]) for argument in arguments} | {name: bad}
        with pytest.raises(ValueError, match=f"{name} contains {message}"):
            metric(*signals.values())


@pytest.mark.parametrize("metric, count", [(snr, 2), (snr_improvement, 3), (mixture_attenuation, 2)])
def test_empty_inputs_are_refused(metric, count):
    with pytest.raises(ValueError, match="is empty"):
        metric(*[torch.zeros(0)] * count)


def test_a_silent_reference_is_refused_and_a_silent_estimate_is_defined():
    signal = torch.randn(100)
    with pytest.raises(ValueError, match="target is silent .*SNR relative to it is undefined"):
        snr(signal, torch.zeros(100))
    with pytest.raises(ValueError, match="target is silent .*SNRi"):
        snr_improvement(signal, torch.zeros(100), signal)
    with pytest.raises(ValueError, match="mixture is silent .*A_mix"):
        mixture_attenuation(signal, torch.zeros(100))
    batch = torch.stack([signal, torch.zeros(100)])
    with pytest.raises(ValueError, match="target is silent"):  # any item of a batch
        snr(batch, batch)
    assert snr(torch.zeros(100), signal).item() == pytest.approx(0.0)
    assert mixture_attenuation(torch.zeros(100), signal).item() == A_MIX_FLOOR_DB


def test_class_aware_sdri_refuses_a_non_finite_score_that_counts():
    with pytest.raises(ValueError, match="SDRi of 'Bark' is nan"):
        class_aware_sdri({"Bark": math.nan}, ["Bark"], ["Bark"])
    assert class_aware_sdri({"Bark": math.nan}, ["Bark"], []) == 0.0  # a missed class counts 0 whatever its SDRi
