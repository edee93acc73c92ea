"""Context-aware query refinement (paper Section 3.2, eq. 7) and the checks on model inputs."""

import torch

# Oracle presence is 0/1: refining with it at any theta in (0, 1] keeps exactly the present
# classes. 0.5 is the convention everywhere an oracle refines (model, pipeline, evaluation).
ORACLE_THRESHOLD = 0.5


Threshold = float | torch.Tensor
"""theta of eq. (7): one number for every class, or a `(classes,)` tensor of per-class values."""


def resolve_threshold(config, threshold: Threshold | None = None) -> Threshold:
    """The theta a call refines with: `threshold` when given (a number is one theta for every
    class and overrides any per-class ones), else the config's per-class `class_thresholds` as a
    `(classes,)` tensor (classes it does not name take `refinement_threshold`), else
    `config.refinement_threshold`. A model without classifier has nothing to refine with: its
    default is 0 (the query as given; oracle presence still refines)."""
    if threshold is not None:
        return threshold
    if not getattr(config, "use_classifier", True):
        return 0.0
    per_class = class_threshold_map(config)
    if per_class is None:
        return config.refinement_threshold
    return torch.tensor([per_class[config.id2label[index]] for index in range(config.num_labels)], dtype=torch.float32)


def class_threshold_map(config) -> dict | None:
    """`{class: theta}` over every class for a config with `class_thresholds` (classes it does
    not name take `refinement_threshold`), else None: what a model refines with by default."""
    per_class = getattr(config, "class_thresholds", None)
    if not per_class:
        return None
    return {label: per_class.get(label, config.refinement_threshold) for label in config.label2id}


def refines(threshold: Threshold) -> bool:
    """Whether refining at `threshold` can drop a class (theta > 0 for at least one class)."""
    return bool(torch.as_tensor(threshold).gt(0).any())


def refine_query(query: torch.Tensor, presence: torch.Tensor, threshold: Threshold) -> torch.Tensor:
    """Eq. (7): keep query class i only where the presence probability p_i >= theta_i.

    `query` `(batch, [queries,] classes)`, `presence` `(batch, classes)` probabilities or an
    oracle 0/1 vector, `threshold` one theta or a `(classes,)` tensor of per-class ones. With
    theta = 0 every class is kept, i.e. no refinement. A query refined to all zeros is the fully
    unmatched case (see `QrtseConfig.silence_empty_query`).
    """
    if torch.is_tensor(threshold):
        threshold = threshold.to(device=presence.device, dtype=presence.dtype)
    keep = (presence >= threshold).to(query.dtype)
    if query.dim() == 3:
        keep = keep.unsqueeze(1)
    return query * keep


def refine_items(
    query: torch.Tensor,
    probabilities: torch.Tensor | None,
    threshold: Threshold,
    oracle_presence: torch.Tensor | None = None,
    has_oracle: torch.Tensor | None = None,
) -> torch.Tensor:
    """Eq. (7) per item of a batch: items with `has_oracle` `(batch,)` refine with their
    `oracle_presence` `(batch, classes)`, the others with the classifier's `probabilities`
    `(batch, classes)` at `threshold`. Without probabilities (a model without classifier) items
    without an oracle keep their query as given."""
    estimated = query if probabilities is None else refine_query(query, probabilities, threshold)
    if oracle_presence is None or has_oracle is None:
        return estimated
    oracle_refined = refine_query(query, oracle_presence.to(query.dtype), ORACLE_THRESHOLD)
    chooser = has_oracle.reshape(-1, *([1] * (query.dim() - 1)))
    return torch.where(chooser, oracle_refined, estimated)


def check_waveform(input_values: torch.Tensor, min_samples: int, name: str = "input_values") -> None:
    """Raise `ValueError` for a waveform batch that is not `(batch, time)`, shorter than one
    encoder window, or not finite."""
    if not torch.is_tensor(input_values):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(input_values).__name__}")
    if input_values.dim() != 2:
        raise ValueError(
            f"{name} must have shape (batch, time), got {tuple(input_values.shape)}; "
            "add a batch dimension with [None] for a single clip"
        )
    if input_values.shape[-1] < min_samples:
        raise ValueError(
            f"{name} has {input_values.shape[-1]} samples, shorter than one encoder window ({min_samples} samples)"
        )
    if not bool(torch.isfinite(input_values).all()):
        raise ValueError(f"{name} contains NaN or Inf")


def check_query(query: torch.Tensor, batch_size: int, num_classes: int) -> None:
    """Raise `ValueError` unless `query` is a 0/1 tensor of shape `(batch, classes)` or
    `(batch, queries, classes)`."""
    if not torch.is_tensor(query):
        raise ValueError(f"query must be a torch.Tensor, got {type(query).__name__}")
    if query.dim() not in (2, 3) or query.shape[0] != batch_size:
        raise ValueError(
            f"query must have shape ({batch_size}, {num_classes}) or ({batch_size}, K, "
            f"{num_classes}), got {tuple(query.shape)}"
        )
    if query.shape[-1] != num_classes:
        raise ValueError(f"query has length {query.shape[-1]}, but the model has {num_classes} classes")
    if not bool(((query == 0) | (query == 1)).all()):
        raise ValueError("query must be multi-hot: every entry 0 or 1")


def check_threshold(threshold: Threshold, num_classes: int | None = None) -> None:
    """Raise `ValueError` unless `threshold` is a number in [0, 1] or, given `num_classes`, also
    a `(num_classes,)` tensor of such numbers."""
    if torch.is_tensor(threshold) and threshold.dim() > 0:
        if num_classes is None or tuple(threshold.shape) != (num_classes,):
            expected = "a number" if num_classes is None else f"a number or a ({num_classes},) tensor"
            raise ValueError(f"threshold must be {expected}, got a tensor of shape {tuple(threshold.shape)}")
        if not bool(((threshold >= 0) & (threshold <= 1)).all()):
            raise ValueError(f"every per-class threshold must lie in [0, 1], got {threshold.tolist()}")
        return
    if isinstance(threshold, bool) or not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
