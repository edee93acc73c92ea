"""The paper's evaluation protocol (Section 4.1, Table 1, Fig. 3) on frozen mixtures.

For each mixture the trunk and classifier run once (`QrtseModel.analyze`); every query
condition (n_active : n_inactive) x refinement setting (theta values and oracle) becomes one
refined query, and all distinct refined queries go through the mask estimator as one K-query
batch (`QrtseModel.extract`). Conditions with n_active > 0 are scored by SNRi against the sum of
the queried active stems; FUQ (0 : n) by A_mix (eq. 9).
"""

from dataclasses import dataclass

import numpy as np
import torch

from modeling_qrtse.refinement_qrtse import refine_query

from .metrics import macro_f1, mixture_attenuation, snr_improvement
from .queries import make_query, target_from_stems

ORACLE = "oracle"


@dataclass(frozen=True)
class Condition:
    n_active: int
    n_inactive: int

    @property
    def name(self) -> str:
        return f"{self.n_active}:{self.n_inactive}"

    @property
    def metric(self) -> str:
        return "snri" if self.n_active else "a_mix"


TABLE_CONDITIONS = (Condition(1, 0), Condition(1, 1), Condition(1, 3), Condition(0, 1))
SWEEP_CONDITIONS = tuple(Condition(1, n) for n in range(6))
PAPER_THRESHOLDS = (0.0, 0.05, 0.1, 0.15, 0.2)


def settings_for(model, thresholds) -> list:
    """Refinement settings a model supports: thresholds need a classifier, oracle does not."""
    usable = [t for t in thresholds if t == 0 or model.classifier is not None]
    return usable + [ORACLE]


@torch.inference_mode()
def score_mixture(model, example: dict, conditions, settings, seed_key) -> dict:
    """Scores of one mixture: {(condition name, setting): value} plus its clip probabilities.

    Every condition draws its query from a generator seeded with the same `seed_key`, so all
    conditions with n_active = 1 share the active class and differ only in the inactive classes
    added to it (paper Section 4.1), which keeps the Fig. 3 sweep free of target-choice noise."""
    mixture = torch.from_numpy(example["mixture"])[None]
    presence = torch.as_tensor(np.asarray(example["presence"], dtype=np.float32))[None]
    analysis = model.analyze(mixture)
    queries, targets, keys = [], [], []
    for condition in conditions:
        drawn = make_query(presence[0].numpy(), condition.n_active, condition.n_inactive, np.random.default_rng(seed_key))
        query = torch.as_tensor(drawn.query, dtype=torch.float32)[None]
        target = torch.from_numpy(target_from_stems(example["stems"], example["stem_labels"], drawn.target_classes))
        for setting in settings:
            if setting == ORACLE:
                refined = refine_query(query, presence, 0.5)
            else:
                refined = refine_query(query, analysis.clip_probabilities, setting) if setting > 0 else query
            queries.append(refined[0])
            targets.append(target)
            keys.append((condition, setting))
    unique, inverse = torch.unique(torch.stack(queries), dim=0, return_inverse=True)
    extracted = model.extract(analysis, unique[None])[0][inverse]
    scores = {}
    for (condition, setting), estimate, target in zip(keys, extracted, targets):
        if condition.metric == "snri":
            value = snr_improvement(estimate, target, mixture[0])
        else:
            value = mixture_attenuation(estimate, mixture[0])
        scores[(condition.name, setting)] = float(value)
    probabilities = None if analysis.clip_probabilities is None else analysis.clip_probabilities[0].numpy()
    return {"scores": scores, "probabilities": probabilities, "presence": presence[0].numpy()}


def evaluate_model(model, examples, conditions=TABLE_CONDITIONS + SWEEP_CONDITIONS, thresholds=PAPER_THRESHOLDS, seed: int = 0, progress=None) -> dict:
    """Mean score per (condition, setting) over `examples`, plus the classifier's macro-F1 per
    theta. Inactive classes are drawn with a generator seeded by `seed` and the mixture index,
    so every model sees the same queries."""
    model.eval()
    conditions = tuple(dict.fromkeys(conditions))
    needed = max(c.n_inactive for c in conditions) + 5  # up to 5 classes are present per mixture
    if needed > model.config.num_labels:
        raise ValueError(
            f"condition with {needed - 5} inactive classes needs >= {needed} classes; the model has {model.config.num_labels}"
        )
    settings = settings_for(model, thresholds)
    totals, probabilities, presences = {}, [], []
    for index, example in enumerate(examples):
        result = score_mixture(model, example, conditions, settings, [seed, index])
        for key, value in result["scores"].items():
            totals.setdefault(key, []).append(value)
        if result["probabilities"] is not None:
            probabilities.append(result["probabilities"])
            presences.append(result["presence"])
        if progress is not None:
            progress.update(1)
    summary = {
        "num_mixtures": len(next(iter(totals.values()))) if totals else 0,
        "scores": {f"{name}|{setting}": float(np.mean(values)) for (name, setting), values in totals.items()},
    }
    if probabilities:
        probabilities, presences = torch.from_numpy(np.stack(probabilities)), torch.from_numpy(np.stack(presences))
        summary["macro_f1"] = {str(t): macro_f1(probabilities >= t, presences) for t in thresholds if t > 0}
    return summary
