"""Training losses (paper Section 4.1, eq. 8)."""

import torch
from torch.nn import functional as F


def _energy(signal: torch.Tensor) -> torch.Tensor:
    return signal.pow(2).sum(-1)


def thresholded_snr_loss(estimate: torch.Tensor, target: torch.Tensor, snr_max: float) -> torch.Tensor:
    """Negative thresholded SNR (Wisdom et al. 2020), per item, in dB:

    -10 log10(|s|^2 / (|s - s_hat|^2 + tau |s|^2)),  tau = 10^(-snr_max / 10).

    tau caps the reward at `snr_max`, so well-extracted items stop dominating the gradient.
    """
    tau = 10.0 ** (-snr_max / 10.0)
    target_energy = _energy(target)
    error_energy = _energy(target - estimate)
    return 10.0 * torch.log10((error_energy + tau * target_energy) / target_energy)


def inactive_sample_loss(estimate: torch.Tensor, mixture: torch.Tensor, snr_max: float) -> torch.Tensor:
    """Loss for a silent target (SoundBeam, paper ref. [2]; MixIT's zero-reference form):

    10 log10(|s_hat|^2 + tau |x|^2) - 10 log10(|x|^2),

    i.e. the output energy relative to the mixture, softly floored at -snr_max dB. The constant
    `- 10 log10 |x|^2` does not change the gradient; it puts the value on the same dB scale as
    the thresholded SNR loss.
    """
    tau = 10.0 ** (-snr_max / 10.0)
    mixture_energy = _energy(mixture)
    return 10.0 * torch.log10((_energy(estimate) + tau * mixture_energy) / mixture_energy)


def extraction_loss(
    estimate: torch.Tensor, target: torch.Tensor, mixture: torch.Tensor, snr_max: float
) -> torch.Tensor:
    """Mean L_tse over items: thresholded SNR for active targets, inactive-sample loss where
    the target is exactly silent. `estimate`/`target` `(..., time)`, `mixture` broadcastable."""
    mixture = mixture.expand_as(target)
    silent = _energy(target) == 0
    # Give silent items a dummy target so the unused branch stays finite (no NaN gradients).
    safe_target = torch.where(silent.unsqueeze(-1), mixture, target)
    active = thresholded_snr_loss(estimate, safe_target, snr_max)
    inactive = inactive_sample_loss(estimate, mixture, snr_max)
    return torch.where(silent, inactive, active).mean()


def classification_loss(
    clip_probabilities: torch.Tensor,
    presence_labels: torch.Tensor,
    positive_weight: float = 1.0,
    focal_gamma: float = 0.0,
) -> torch.Tensor:
    """Binary cross-entropy on clip-level presence probabilities (L_cls), computed in float32
    (BCE on probabilities is not autocast-safe). `positive_weight` > 1 weighs present classes
    more (3-5 of a vocabulary of ~25 are present, so plain BCE favours saying "absent");
    `focal_gamma` > 0 scales each term by (1 - p_t)^gamma (focal loss, Lin et al. 2017), where
    p_t is the probability of the true answer, so confidently right terms fade. 1 and 0 give the
    paper's loss."""
    with torch.autocast(device_type=clip_probabilities.device.type, enabled=False):
        probabilities = clip_probabilities.float().clamp(1e-7, 1 - 1e-7)
        labels = presence_labels.float()
        weight = None if positive_weight == 1.0 else 1.0 + (positive_weight - 1.0) * labels
        if focal_gamma == 0.0:
            return F.binary_cross_entropy(probabilities, labels, weight=weight)
        terms = F.binary_cross_entropy(probabilities, labels, reduction="none")
        true_answer = torch.where(labels > 0, probabilities, 1.0 - probabilities)
        terms = terms * (1.0 - true_answer).pow(focal_gamma)
        return (terms if weight is None else terms * weight).mean()
