"""Weakly supervised sound-event detector on the shared features (paper eq. 6, Section 4.1)."""

import torch
from torch import nn


def pool_frames(frame_probabilities: torch.Tensor, frame_mask: torch.Tensor, method: str) -> torch.Tensor:
    """Aggregate frame probabilities `(batch, frames, classes)` into clip probabilities
    `(batch, classes)`, ignoring frames where `frame_mask` `(batch, frames)` is 0.

    `"linear_softmax"` is sum(p^2) / sum(p) (Wang et al., ICASSP 2019): loud frames dominate,
    yet every frame gets gradient.
    """
    weights = frame_mask.unsqueeze(-1).to(frame_probabilities.dtype)
    if method == "max":
        return (frame_probabilities * weights).amax(dim=1)
    if method == "mean":
        return (frame_probabilities * weights).sum(1) / weights.sum(1).clamp_min(1.0)
    weighted = frame_probabilities * weights
    return (weighted * frame_probabilities).sum(1) / weighted.sum(1).clamp_min(1e-7)


class QrtseClassifier(nn.Module):
    """BiGRU layers, a linear layer and a sigmoid per frame, then frame-to-clip pooling.

    Reads Z `(batch, N, frames)` before the query is applied, so its output depends on the
    mixture only (Section 3.1). A causal model (`config.causal`) has a unidirectional GRU of
    `classifier_hidden_size` units instead, whose frame probabilities depend on the past only.
    """

    def __init__(self, config):
        super().__init__()
        self.pooling = config.classifier_pooling
        self.causal = getattr(config, "causal", False)
        self.gru = nn.GRU(
            config.feature_channels,
            config.classifier_hidden_size if self.causal else config.classifier_hidden_size // 2,
            num_layers=config.classifier_layers,
            batch_first=True,
            bidirectional=not self.causal,
        )
        self.frame_logits = nn.Linear(config.classifier_hidden_size, config.num_labels)

    def forward(
        self, shared_features: torch.Tensor, frame_mask: torch.Tensor, past: list | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return clip probabilities `(batch, classes)` and frame probabilities `(batch, frames, classes)`.
        `past` (a causal classifier in a stream): a one-item list holding the GRU's hidden state
        `(layers, batch, hidden)` (None at the start of a signal), replaced by this call's."""
        sequence = shared_features.transpose(1, 2)
        lengths = frame_mask.sum(1)
        if self.causal:
            # Batch padding comes after each item's frames, which a forward GRU reads before it.
            hidden, last = self.gru(sequence, None if past is None else past[0])
            if past is not None:
                past[0] = last
        elif bool((lengths < frame_mask.shape[1]).any()):
            # Padded items: pack so the backward GRU starts at each item's own last frame.
            packed = nn.utils.rnn.pack_padded_sequence(sequence, lengths.cpu(), batch_first=True, enforce_sorted=False)
            hidden, _ = self.gru(packed)
            hidden, _ = nn.utils.rnn.pad_packed_sequence(hidden, batch_first=True, total_length=sequence.shape[1])
        else:
            hidden, _ = self.gru(sequence)
        frame_probabilities = torch.sigmoid(self.frame_logits(hidden))
        return pool_frames(frame_probabilities, frame_mask, self.pooling), frame_probabilities
