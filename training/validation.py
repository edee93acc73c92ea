"""Validation during training: FMQ (1:0) SNRi at theta = 0 (joint training) or the classifier's
macro-F1 (the classifier stage) on the frozen validation split."""

import torch

from .data_loading import frozen_examples
from .metrics import macro_f1
from .scoring import Condition, evaluate_model


def validate(model, data_args, accelerator) -> dict:
    """Run on the main process only (a few hundred mixtures); other processes get the same
    numbers through a broadcast so every process logs and selects identically."""
    scores = torch.zeros(2, device=accelerator.device)
    if accelerator.is_main_process:
        examples = frozen_examples(data_args.data_dir, "validation", limit=data_args.validation_mixtures)
        summary = evaluate_model(model, examples, conditions=(Condition(1, 0),), thresholds=(0.0, 0.1))
        scores[0] = summary["scores"]["1:0|0.0"]
        scores[1] = summary.get("macro_f1", {}).get("0.1", float("nan"))
        model.train()
    scores = accelerator.reduce(scores, "sum")  # only the main process holds non-zero values
    return {"snri_fmq": float(scores[0]), "macro_f1": float(scores[1])}


# Thresholds at which the classifier stage's validation macro-F1 is read; the best of them is
# the score (the shipped theta is chosen afterwards, on the validation splits, by select_threshold).
CLASSIFIER_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5)


@torch.inference_mode()
def validate_classifier(model, data_args, accelerator) -> dict:
    """Validation of `qrtse.training.train --train_only_classifier`: the classifier's macro-F1 on the
    frozen validation split at the best of `CLASSIFIER_THRESHOLDS` (no extraction: the stage
    does not change it). Main process only, broadcast like `validate`."""
    scores = torch.zeros(len(CLASSIFIER_THRESHOLDS), device=accelerator.device)
    if accelerator.is_main_process:
        model.eval()
        probabilities, presences = [], []
        for example in frozen_examples(data_args.data_dir, "validation", limit=data_args.validation_mixtures):
            analysis = model.analyze(torch.from_numpy(example["mixture"])[None])
            probabilities.append(analysis.clip_probabilities[0])
            presences.append(torch.as_tensor(example["presence"]))
        probabilities, presences = torch.stack(probabilities), torch.stack(presences)
        for index, theta in enumerate(CLASSIFIER_THRESHOLDS):
            scores[index] = macro_f1(probabilities >= theta, presences)
        model.train()
    scores = accelerator.reduce(scores, "sum")
    best = int(scores.argmax())
    return {"macro_f1": float(scores[best]), "macro_f1_theta": CLASSIFIER_THRESHOLDS[best]}
