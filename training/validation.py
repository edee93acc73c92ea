"""Validation during training: FMQ (1:0) SNRi at theta = 0 on the frozen validation split."""

import torch

from .data_loading import frozen_examples
from .evaluation import Condition, evaluate_model


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
