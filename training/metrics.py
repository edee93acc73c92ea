"""Evaluation metrics of paper Section 4.1, in torch, computed once and reused everywhere."""

import torch

# A_mix of an exactly silent output is -inf dB; report it at this floor instead.
A_MIX_FLOOR_DB = -120.0


def snr(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """10 log10(|s|^2 / |s - s_hat|^2) per item, in dB, over the last axis."""
    error = (target - estimate).pow(2).sum(-1).clamp_min(1e-20)
    return 10 * torch.log10(target.pow(2).sum(-1).clamp_min(1e-20) / error)


def snr_improvement(estimate: torch.Tensor, target: torch.Tensor, mixture: torch.Tensor) -> torch.Tensor:
    """SNRi: SNR of the estimate minus SNR of the unprocessed mixture, against the target."""
    return snr(estimate, target) - snr(mixture.expand_as(target), target)


def mixture_attenuation(estimate: torch.Tensor, mixture: torch.Tensor) -> torch.Tensor:
    """Eq. (9): A_mix = -10 log10(|x|^2 / |s_hat|^2) in dB (lower = closer to silence),
    floored at `A_MIX_FLOOR_DB`."""
    ratio = estimate.pow(2).sum(-1) / mixture.expand_as(estimate).pow(2).sum(-1).clamp_min(1e-20)
    return (10 * torch.log10(ratio.clamp_min(1e-20))).clamp_min(A_MIX_FLOOR_DB)


def class_aware_sdri(sdri: dict, present, detected) -> float:
    """CA-SDRi of one mixture (DCASE 2025 Task 4): the SDRi of every class both present and
    detected (kept), summed over them and divided by the size of the union of the present and
    the detected classes, so that a missed target and a kept absent class both count as 0.
    `sdri` maps each present class to the SDRi of its extraction; 0 when both sets are empty."""
    present, detected = set(present), set(detected)
    union = present | detected
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
