"""A training stage for the classifier alone: the trunk (encoder + shared TCN) and the mask
estimator stay frozen, only the BiGRU classifier learns, on L_cls only.

Why: the classifier's presence decisions are what refinement stands on (paper Section 4.5),
and here they lag the extractor (it misses most real recordings). With the trunk frozen a step
runs the encoder and the shared TCN forward only, without autograd, and skips the mask
estimator and the decoder altogether, so the classifier gets several times more mixtures per
hour than in joint training, and extraction at theta = 0 stays exactly what it was.
"""

import torch
from torch import nn

from modeling_qrtse.losses_qrtse import classification_loss


class ClassifierStage(nn.Module):
    """Wraps a `QrtseModel` for `qrtse.training.train --train_only_classifier`: every parameter
    outside `model.classifier` is frozen; `forward` returns L_cls. Accelerate / DDP wrap this
    module, so the classifier's gradients are synchronised across processes as usual."""

    def __init__(self, model):
        super().__init__()
        if model.classifier is None:
            raise ValueError("--train_only_classifier needs a model with a classifier (system 'proposed')")
        self.model = model
        for name, parameter in model.named_parameters():
            parameter.requires_grad_(name.startswith("classifier."))

    def train(self, mode: bool = True):
        # The frozen trunk stays in eval mode (no dropout); only the classifier trains.
        super().train(mode)
        self.model.eval()
        self.model.classifier.train(mode)
        return self

    def forward(self, input_values: torch.Tensor, presence_labels: torch.Tensor) -> torch.Tensor:
        model = self.model
        with torch.no_grad():  # the frozen trunk; only the classifier records a graph
            analysis = model.analyze(input_values, classify=False)
        clip_probabilities, _ = model.classify_items(analysis.shared_features, analysis.valid_frames)
        return classification_loss(
            clip_probabilities,
            presence_labels,
            model.config.classification_positive_weight,
            model.config.classification_focal_gamma,
        )
