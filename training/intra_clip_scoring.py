"""Intra-clip scoring of refinement in time (issue: frame-level query refinement).

On mixtures where the queried classes sound only in parts of the clip (`build_dataset
--duration_s 20`: 3-5 events of a few seconds, each at a random onset, over a background that
lasts throughout), each query condition is extracted under these refinement settings:

- `none`: the query as given (theta = 0);
- `file`: clip-level refinement at theta (eq. 7, what ships);
- `chunk`: refinement per chunk of `CHUNK_S` seconds (`refinement="chunk"` of the pipeline, which
  classifies each chunk on its own);
- `frame`: frame-level refinement at theta with the model's `frame_smoothing`
  (`modeling_qrtse.frame_refinement_qrtse`);
- `online`: a causal model's online refinement (`QrtseModel.refine_online`, as it streams: the
  trailing presence of the last `presence_window_s`, a class kept from the frame it reaches theta
  until it stays below for `release_s`); causal models only;
- `oracle`: the true clip-level presence (the paper's upper bound);
- `oracle-frame`: the true activity of each class in each frame, from the stems (the upper bound
  of refinement in time).

Next to them, the baselines `silence` (an all-zero output) and `mixture` (the unprocessed mixture)
on the same mixtures and queries.

Scores, per (condition, setting), averaged over mixtures:
- `snri_active`: SNRi over the samples where a queried class is active (the target's regions);
- `attenuation_inactive`: 10 log10(|s_hat|^2 / |x|^2) over the samples where no queried class is
  active (A_mix, eq. 9, restricted to those regions; lower is better; floored at -120 dB), the
  whole clip for FUQ (0:1);
- `snri`: SNRi over the whole clip (the standard metric).

A class is active from the first to the last non-zero sample of its stem (clips are stored
trimmed of leading and trailing silence, so this is the event as placed). A frame is active for a
class when any sample of its encoder window is.
"""

import numpy as np
import torch

from modeling_qrtse.frame_refinement_qrtse import frame_activity, frame_query
from modeling_qrtse.frame_smoothing_qrtse import FrameSmoothing
from modeling_qrtse.long_form_qrtse import extract_long_form
from modeling_qrtse.refinement_qrtse import ORACLE_THRESHOLD, refine_query

from .metrics import A_MIX_FLOOR_DB, snr_improvement
from .query_conditions import make_query, target_from_stems
from .scoring import TABLE_CONDITIONS, to_model_labels

SETTINGS = ("none", "file", "chunk", "frame", "online", "oracle", "oracle-frame")
BASELINES = ("silence", "mixture")
# Chunk length of the `chunk` setting: a quarter of the 20 s intra-clip mixtures.
CHUNK_S = 5.0
METRICS = ("snri_active", "attenuation_inactive", "snri")


def settings_for(model) -> tuple:
    """The SETTINGS a model supports: `online` needs a causal model."""
    causal = getattr(model.config, "causal", False)
    return tuple(setting for setting in SETTINGS if causal or setting != "online")


def sample_activity(stems: np.ndarray, stem_labels, num_classes: int) -> np.ndarray:
    """`(classes, time)` bool: each class active from its stem's first to last non-zero sample."""
    activity = np.zeros((num_classes, stems.shape[-1]), dtype=bool)
    for stem, label in zip(stems, np.asarray(stem_labels)):
        if label < 0:
            continue
        sounding = np.flatnonzero(stem)
        if len(sounding):
            activity[label, sounding[0] : sounding[-1] + 1] = True
    return activity


def frames_of(activity: np.ndarray, config) -> np.ndarray:
    """`(frames, classes)` bool from sample activity `(classes, time)`: frame f covers samples
    `f * hop - frame_offset_samples` onwards for one encoder window (`QrtseConfig`)."""
    num_samples = activity.shape[-1]
    num_frames = config.num_frames_of(num_samples)
    starts = np.arange(num_frames) * config.hop_samples - config.frame_offset_samples
    counts = np.concatenate([np.zeros((activity.shape[0], 1)), np.cumsum(activity, axis=1)], axis=1)
    first = np.clip(starts, 0, num_samples)
    last = np.clip(starts + config.window_samples, 0, num_samples)
    return (counts[:, last] - counts[:, first] > 0).T


def region_scores(estimate: torch.Tensor, target: torch.Tensor, mixture: torch.Tensor, active: torch.Tensor) -> dict:
    """`METRICS` of one extraction; `active` `(time,)` bool marks the queried classes' regions.
    A metric whose region is empty is None (left out of the means)."""
    scores = {"snri_active": None, "attenuation_inactive": None, "snri": None}
    if bool(target.any()):
        scores["snri"] = float(snr_improvement(estimate, target, mixture))
    if bool(active.any()) and bool(target[active].any()):
        scores["snri_active"] = float(snr_improvement(estimate[active], target[active], mixture[active]))
    inactive = ~active
    if bool(inactive.any()):
        ratio = estimate[inactive].pow(2).sum() / mixture[inactive].pow(2).sum().clamp_min(1e-20)
        scores["attenuation_inactive"] = max(A_MIX_FLOOR_DB, float(10 * torch.log10(ratio.clamp_min(1e-20))))
    return scores


@torch.inference_mode()
def score_intra_clip(
    model, example: dict, conditions, threshold: float, smoothing: FrameSmoothing, seed_key, settings=None
) -> dict:
    """{(condition name, setting): METRICS} of one mixture; queries drawn as `qrtse.training.scoring`
    draws them (same seed key -> same target class in every condition). `settings` default to the
    model's (`settings_for`)."""
    settings = settings_for(model) if settings is None else settings
    config = model.config
    mixture = torch.from_numpy(example["mixture"])[None]
    presence = np.asarray(example["presence"], dtype=np.float32)
    activity = sample_activity(example["stems"], example["stem_labels"], config.num_labels)
    analysis = model.analyze(mixture)
    num_frames = analysis.shared_features.shape[-1]
    oracle_frames = torch.zeros(1, num_frames, config.num_labels, dtype=torch.bool)
    truth = torch.from_numpy(frames_of(activity, config))[:num_frames]
    oracle_frames[0, : len(truth)] = truth  # frames past the input (encoder padding) stay inactive
    decided = frame_activity(
        analysis.frame_probabilities,
        analysis.clip_probabilities,
        threshold,
        smoothing,
        config.frame_rate,
        config.classifier_pooling,
    )
    presence_tensor = torch.from_numpy(presence)[None]

    def frame_queries(setting: str, query: torch.Tensor) -> torch.Tensor:
        """The `(frames, classes)` query of one setting for a `(1, 1, classes)` query."""
        if setting == "frame":
            return frame_query(query, decided)[0, 0]
        if setting == "oracle-frame":
            return frame_query(query, oracle_frames)[0, 0]
        if setting == "online":
            return model.refine_online(query, analysis, threshold)[0, 0]
        if setting == "file":
            query = refine_query(query, analysis.clip_probabilities, threshold)
        elif setting == "oracle":
            query = refine_query(query, presence_tensor, ORACLE_THRESHOLD)
        return query[0, 0].expand(num_frames, -1)

    queries, keys, targets, regions, drawn_queries = [], [], [], [], []
    names = [condition.name for condition in conditions]
    for condition in conditions:
        drawn = make_query(presence, condition.n_active, condition.n_inactive, np.random.default_rng(seed_key))
        query = torch.from_numpy(drawn.query)[None, None]  # (1, 1, classes)
        for setting in settings:
            if setting == "chunk":
                continue  # extracted by the long-form engine below
            queries.append(frame_queries(setting, query))
            keys.append((condition.name, setting))
        targets.append(
            torch.from_numpy(target_from_stems(example["stems"], example["stem_labels"], drawn.target_classes))
        )
        regions.append(torch.from_numpy(activity[np.flatnonzero(drawn.query)].any(axis=0)))
        drawn_queries.append(query[0, 0])
    out = {}
    if queries:
        unique, inverse = torch.unique(torch.stack(queries), dim=0, return_inverse=True)
        extracted = model.extract(analysis, unique[None])[0][inverse]
        for (name, setting), estimate in zip(keys, extracted):
            index = names.index(name)
            out[(name, setting)] = region_scores(estimate, targets[index], mixture[0], regions[index])
    for index, name in enumerate(names):
        for baseline, estimate in (("silence", torch.zeros_like(mixture[0])), ("mixture", mixture[0])):
            out[(name, baseline)] = region_scores(estimate, targets[index], mixture[0], regions[index])
    if "chunk" in settings:
        chunked = extract_long_form(
            model,
            mixture,
            torch.stack(drawn_queries)[None],
            threshold=threshold,
            refinement="chunk",
            chunk_length_s=CHUNK_S,
        ).extracted_values[0]
        for index, name in enumerate(names):
            out[(name, "chunk")] = region_scores(chunked[index], targets[index], mixture[0], regions[index])
    return out


def evaluate_intra_clip(
    model,
    examples,
    dataset_labels,
    threshold=None,
    smoothing=None,
    conditions=TABLE_CONDITIONS,
    settings=None,
    seed=0,
    progress=None,
) -> dict:
    """Mean of each metric per (condition, setting) over `examples`: `{"scores": {"1:0|frame":
    {"snri_active": ..., ...}}, "num_mixtures": n, "threshold": theta, "frame_smoothing": {...}}`."""
    model.eval()
    threshold = model.config.refinement_threshold if threshold is None else threshold
    smoothing = FrameSmoothing.from_dict(model.config.frame_smoothing if smoothing is None else smoothing)
    model_labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    collected, count = {}, 0
    for index, example in enumerate(examples):
        if list(dataset_labels) != model_labels:
            example = to_model_labels(example, dataset_labels, model_labels)
            if example is None:
                continue
        scored = score_intra_clip(model, example, conditions, threshold, smoothing, [seed, index], settings)
        for key, scores in scored.items():
            for metric, value in scores.items():
                if value is not None:
                    collected.setdefault(key, {}).setdefault(metric, []).append(value)
        count += 1
        if progress is not None:
            progress.update(1)
    scores = {
        f"{name}|{setting}": {metric: float(np.mean(values)) for metric, values in metrics.items()}
        for (name, setting), metrics in collected.items()
    }
    return {"scores": scores, "num_mixtures": count, "threshold": threshold, "frame_smoothing": smoothing.to_dict()}
