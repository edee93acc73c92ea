"""Evaluation metrics of paper Section 4.1, in torch, computed once and reused everywhere.

Inputs that make a score meaningless raise `ValueError` instead of returning a number: an empty
signal, NaN or Inf samples, and a silent reference (an all-zero target for SNR / SNRi, an all-zero
mixture for A_mix), against which the ratio is undefined. A silent *estimate* is fine: its A_mix
is floored at `A_MIX_FLOOR_DB`, its SNR is 0 dB. A silent target (a query whose classes are all
absent) is scored with A_mix, as in the paper's FUQ rows.
"""

import math

import torch

# A_mix of an exactly silent output is -inf dB; report it at this floor instead.
A_MIX_FLOOR_DB = -120.0


def check_signals(**signals: torch.Tensor) -> None:
    """`ValueError` naming the signal that is empty (no samples on the last axis) or holds NaN/Inf."""
    for name, signal in signals.items():
        if signal.numel() == 0:
            raise ValueError(f"{name} is empty: a metric needs at least one sample")
        if not bool(torch.isfinite(signal).all()):
            raise ValueError(f"{name} contains NaN or Inf samples")


def check_not_silent(name: str, reference: torch.Tensor, metric: str) -> None:
    """`ValueError` when an item of `reference` is all zeros: `metric` relative to it is undefined."""
    if not bool(reference.ne(0).any(-1).all()):
        raise ValueError(f"{name} is silent (all zeros), so {metric} relative to it is undefined")


def _snr(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    error = (target - estimate).pow(2).sum(-1).clamp_min(1e-20)
    return 10 * torch.log10(target.pow(2).sum(-1).clamp_min(1e-20) / error)


def snr(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """10 log10(|s|^2 / |s - s_hat|^2) per item, in dB, over the last axis. `ValueError` for an
    empty or non-finite input or a silent target (see the module docstring)."""
    check_signals(estimate=estimate, target=target)
    check_not_silent("target", target, "SNR")
    return _snr(estimate, target)


def snr_improvement(estimate: torch.Tensor, target: torch.Tensor, mixture: torch.Tensor) -> torch.Tensor:
    """SNRi: SNR of the estimate minus SNR of the unprocessed mixture, against the target.
    `ValueError` for an empty or non-finite input or a silent target (see the module docstring)."""
    check_signals(estimate=estimate, target=target, mixture=mixture)
    check_not_silent("target", target, "SNRi")
    return _snr(estimate, target) - _snr(mixture.expand_as(target), target)


def mixture_attenuation(estimate: torch.Tensor, mixture: torch.Tensor) -> torch.Tensor:
    """Eq. (9): A_mix = -10 log10(|x|^2 / |s_hat|^2) in dB (lower = closer to silence),
    floored at `A_MIX_FLOOR_DB`. `ValueError` for an empty or non-finite input or a silent mixture."""
    check_signals(estimate=estimate, mixture=mixture)
    check_not_silent("mixture", mixture, "A_mix")
    ratio = estimate.pow(2).sum(-1) / mixture.expand_as(estimate).pow(2).sum(-1).clamp_min(1e-20)
    return (10 * torch.log10(ratio.clamp_min(1e-20))).clamp_min(A_MIX_FLOOR_DB)


def class_aware_sdri(sdri: dict, present, detected) -> float:
    """CA-SDRi of one mixture (DCASE 2025 Task 4): the SDRi of every class both present and
    detected (kept), summed over them and divided by the size of the union of the present and
    the detected classes, so that a missed target and a kept absent class both count as 0.
    `sdri` maps each present class to the SDRi of its extraction; 0 when both sets are empty.
    `ValueError` for a NaN or infinite SDRi of a class that counts."""
    present, detected = set(present), set(detected)
    union = present | detected
    for label in present & detected:
        if not math.isfinite(float(sdri[label])):
            raise ValueError(f"the SDRi of {label!r} is {float(sdri[label])}; a score needs finite values")
    return sum(float(sdri[label]) for label in present & detected) / len(union) if union else 0.0


def macro_f1(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean over classes of the F1 score of binary `predictions` against `labels`, both
    `(items, classes)`. Classes never present nor predicted are left out of the mean."""
    predictions, labels = predictions.bool(), labels.bool()
    true_positive = (predictions & labels).sum(0).float()
    predicted, actual = predictions.sum(0).float(), labels.sum(0).float()
    seen = (predicted + actual) > 0
    f1 = 2 * true_positive[seen] / (predicted[seen] + actual[seen])
    return float(f1.mean()) if seen.any() else float("nan")
