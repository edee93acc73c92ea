"""The paper's evaluation protocol (Section 4.1, Table 1, Fig. 3) on frozen mixtures.

For each mixture the trunk and classifier run once (`QrtseModel.analyze`); every query
condition (n_active : n_inactive) x refinement setting (theta values and oracle) becomes one
refined query, and all distinct refined queries go through the mask estimator as one K-query
batch (`QrtseModel.extract`). Conditions with n_active > 0 are scored by SNRi against the sum of
the queried active stems; FUQ (0 : n) by A_mix (eq. 9).

Next to each score, what it means: the output SNR, the SNRi an all-silent output gets on the
same mixtures and queries (the unprocessed mixture scores 0 dB SNRi by definition), and the
class-aware SDRi of DCASE 2025 Task 4 (CA-SDRi). CA-SDRi is taken over the classes of a query
with one active class: the active class, if kept by refinement, scores the SNRi of its
extraction alone (the 1:0 extraction at the same setting), every other class in the union of
present and kept queried classes scores 0 (a dropped target or a kept absent class is a wrong
decision), and the mean over that union is the mixture's CA-SDRi. Per-class recall and false
positive rate of the classifier are given at every theta.

A causal model (`config.causal`) is scored as it streams: refined online, frame by frame
(`QrtseModel.refine_online`); in CA-SDRi a class counts as kept when it was kept in some frame.
"""

from dataclasses import dataclass

import numpy as np
import torch

from modeling_qrtse.refinement_qrtse import refine_query

from . import metrics
from .metrics import macro_f1, mixture_attenuation, snr, snr_improvement
from .query_conditions import make_query, target_from_stems

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


def refined_query(model, query: torch.Tensor, analysis, presence: torch.Tensor, setting) -> torch.Tensor:
    """The query `(1, C)` refined by `setting`: the oracle `presence`, theta 0 (as given) or theta
    (eq. 7 on the clip probabilities). A causal model refines online (`QrtseModel.refine_online`,
    as it streams) and gets every setting as a frame query `(1, frames, C)`."""
    online = getattr(model.config, "causal", False)
    if setting == ORACLE:
        refined = refine_query(query, presence, 0.5)
    elif setting > 0 and online:
        return model.refine_online(query[:, None], analysis, setting)[:, 0]
    else:
        refined = refine_query(query, analysis.clip_probabilities, setting) if setting > 0 else query
    frames = analysis.shared_features.shape[-1]
    return refined[:, None].expand(-1, frames, -1) if online else refined


@torch.inference_mode()
def score_mixture(model, example: dict, conditions, settings, seed_key) -> dict:
    """Scores of one mixture: {(condition name, setting): value} plus its clip probabilities.

    Every condition draws its query from a generator seeded with the same `seed_key`, so all
    conditions with n_active = 1 share the active class and differ only in the inactive classes
    added to it (paper Section 4.1), which keeps the Fig. 3 sweep free of target-choice noise."""
    mixture = torch.from_numpy(example["mixture"])[None]
    presence = torch.as_tensor(np.asarray(example["presence"], dtype=np.float32))[None]
    analysis = model.analyze(mixture)
    queries, targets, keys, queried = [], [], [], {}
    silence = {}
    for condition in conditions:
        drawn = make_query(
            presence[0].numpy(), condition.n_active, condition.n_inactive, np.random.default_rng(seed_key)
        )
        query = torch.as_tensor(drawn.query, dtype=torch.float32)[None]
        target = torch.from_numpy(target_from_stems(example["stems"], example["stem_labels"], drawn.target_classes))
        queried[condition.name] = query[0]
        if condition.metric == "snri":
            silence[condition.name] = float(snr_improvement(torch.zeros_like(target), target, mixture[0]))
        for setting in settings:
            queries.append(refined_query(model, query, analysis, presence, setting)[0])
            targets.append(target)
            keys.append((condition, setting))
    unique, inverse = torch.unique(torch.stack(queries), dim=0, return_inverse=True)
    extracted = model.extract(analysis, unique[None])[0][inverse]
    scores, output_snr, kept = {}, {}, {}
    for (condition, setting), estimate, target, refined in zip(keys, extracted, targets, queries):
        # Online refinement: a class counts as kept when the stream extracted it in some frame.
        kept[(condition.name, setting)] = refined.amax(0) if refined.dim() == 2 else refined
        if condition.metric == "snri":
            value = snr_improvement(estimate, target, mixture[0])
            output_snr[(condition.name, setting)] = float(snr(estimate, target))
        else:
            value = mixture_attenuation(estimate, mixture[0])
        scores[(condition.name, setting)] = float(value)
    probabilities = None if analysis.clip_probabilities is None else analysis.clip_probabilities[0].numpy()
    return {
        "scores": scores,
        "output_snr": output_snr,
        "silence": silence,
        "ca_sdri": class_aware_sdri(scores, kept, queried, presence[0], conditions, settings),
        "probabilities": probabilities,
        "presence": presence[0].numpy(),
    }


def class_aware_sdri(scores, kept, queried, presence, conditions, settings) -> dict:
    """CA-SDRi per (condition, setting) for the conditions with one active class (see module
    docstring); needs the 1:0 condition, whose extraction is the active class's alone."""
    if "1:0" not in queried:
        return {}
    out = {}
    for condition in conditions:
        if condition.n_active != 1:
            continue
        present = np.flatnonzero((queried[condition.name] > 0) & (presence > 0)).tolist()
        for setting in settings:
            detected = np.flatnonzero(kept[(condition.name, setting)] > 0).tolist()
            sdri = dict.fromkeys(present, scores[("1:0", setting)])  # the one active class's extraction
            out[(condition.name, setting)] = metrics.class_aware_sdri(sdri, present, detected)
    return out


def per_class_detection(probabilities: torch.Tensor, presences: torch.Tensor, threshold: float, labels) -> dict:
    """`{label: {"recall", "false_positive_rate", "present", "absent"}}` of `p >= threshold`."""
    predicted, actual = probabilities >= threshold, presences > 0
    out = {}
    for index, label in enumerate(labels):
        positives, negatives = int(actual[:, index].sum()), int((~actual[:, index]).sum())
        hits = int((predicted[:, index] & actual[:, index]).sum())
        false_alarms = int((predicted[:, index] & ~actual[:, index]).sum())
        out[label] = {
            "recall": hits / positives if positives else None,
            "false_positive_rate": false_alarms / negatives if negatives else None,
            "present": positives,
            "absent": negatives,
        }
    return out


def to_model_labels(example: dict, dataset_labels, model_labels) -> dict | None:
    """`example` with presence and stem labels in the model's vocabulary. Stems of classes the
    model does not know stay in the mixture as interference and are never targets; None when
    the model knows none of the mixture's classes."""
    index = {label: i for i, label in enumerate(model_labels)}
    mapped = np.array([index.get(dataset_labels[i], -1) if i >= 0 else -1 for i in np.asarray(example["stem_labels"])])
    presence = np.zeros(len(model_labels), dtype=np.float32)
    presence[mapped[mapped >= 0]] = 1.0
    if not presence.any():
        return None
    return {**example, "presence": presence, "stem_labels": mapped}


def evaluate_model(
    model,
    examples,
    conditions=TABLE_CONDITIONS + SWEEP_CONDITIONS,
    thresholds=PAPER_THRESHOLDS,
    seed: int = 0,
    progress=None,
    dataset_labels=None,
) -> dict:
    """Mean score per (condition, setting) over `examples`, plus the classifier's macro-F1 per
    theta. Inactive classes are drawn with a generator seeded by `seed` and the mixture index,
    so every model sees the same queries. `dataset_labels` (the build's vocabulary) lets a model
    with another vocabulary be scored (`to_model_labels`); models with different vocabularies
    draw their inactive classes from different sets."""
    model.eval()
    conditions = tuple(dict.fromkeys(conditions))
    needed = max(c.n_inactive for c in conditions) + 5  # up to 5 classes are present per mixture
    if needed > model.config.num_labels:
        raise ValueError(
            f"condition with {needed - 5} inactive classes needs >= {needed} classes; the model has {model.config.num_labels}"
        )
    settings = settings_for(model, thresholds)
    totals, probabilities, presences = {}, [], []
    extra = {"output_snr": {}, "silence": {}, "ca_sdri": {}}
    model_labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    skipped = 0
    for index, example in enumerate(examples):
        if dataset_labels is not None and list(dataset_labels) != model_labels:
            example = to_model_labels(example, dataset_labels, model_labels)
            if example is None:
                skipped += 1
                continue
        result = score_mixture(model, example, conditions, settings, [seed, index])
        for key, value in result["scores"].items():
            totals.setdefault(key, []).append(value)
        for name, collected in extra.items():
            for key, value in result[name].items():
                collected.setdefault(key, []).append(value)
        if result["probabilities"] is not None:
            probabilities.append(result["probabilities"])
            presences.append(result["presence"])
        if progress is not None:
            progress.update(1)
    summary = {
        "num_mixtures": len(next(iter(totals.values()))) if totals else 0,
        "skipped_mixtures": skipped,
        "scores": {f"{name}|{setting}": float(np.mean(values)) for (name, setting), values in totals.items()},
        "output_snr": {f"{n}|{s}": float(np.mean(v)) for (n, s), v in extra["output_snr"].items()},
        "silence_snri": {name: float(np.mean(v)) for name, v in extra["silence"].items()},
        "ca_sdri": {f"{n}|{s}": float(np.mean(v)) for (n, s), v in extra["ca_sdri"].items()},
    }
    if probabilities:
        probabilities, presences = torch.from_numpy(np.stack(probabilities)), torch.from_numpy(np.stack(presences))
        summary["macro_f1"] = {str(t): macro_f1(probabilities >= t, presences) for t in thresholds if t > 0}
        shipped = model.config.refinement_threshold
        summary["per_class"] = {
            str(t): per_class_detection(probabilities, presences, t, model_labels)
            for t in sorted({*thresholds, shipped})
            if t > 0
        }
    return summary
