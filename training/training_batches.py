"""Training batches: queries and targets built from per-class stems (paper Section 3.3: FMQ only).

Distribution (the paper does not give one): each example asks for k of its n active classes,
k = 1 with probability 1/2 (the evaluation's single-target case) and otherwise uniform over
2..n; the classes are a uniform random subset. The target is the exact sum of their stems.
Baseline 2 turns a `inactive_fraction` share of examples into inactive samples: the query names
k absent classes (same k distribution, capped by the number absent) and the target is silence.

With `segment_seconds` < 6 the mixtures are cropped first (`random_crop`) and only classes
audible in the crop count as active. An item whose crop holds no audible class after a few
redraws (rare: 3-5 sources per 6 s) keeps an empty query and a silent target.
"""

import torch

from modeling_qrtse.processing_qrtse import QrtseProcessor


def sample_query_size(num_active: int, generator: torch.Generator) -> int:
    if num_active <= 1 or torch.rand((), generator=generator) < 0.5:
        return 1
    return int(torch.randint(2, num_active + 1, (), generator=generator))


def random_subset(candidates: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    return candidates[torch.randperm(len(candidates), generator=generator)[:size]]


def build_training_batch(
    batch: dict, processor: QrtseProcessor, generator: torch.Generator, inactive_fraction: float = 0.0
) -> dict:
    """From `stems` (B, S, T), `stem_labels` (B, S, -1 padded) and `presence` (B, C), build
    `query` (B, C) and `target_values` (B, T)."""
    stems, stem_labels = batch["stems"], batch["stem_labels"]
    batch_size = stems.shape[0]
    query = torch.zeros(batch_size, len(processor.labels))
    target = torch.zeros(batch_size, stems.shape[-1])
    for item in range(batch_size):
        slots = (stem_labels[item] >= 0).nonzero().flatten()
        if inactive_fraction > 0 and torch.rand((), generator=generator) < inactive_fraction:
            absent = (batch["presence"][item] == 0).nonzero().flatten()
            chosen = random_subset(absent, min(sample_query_size(len(slots), generator), len(absent)), generator)
            query[item] = processor.encode_query(chosen.tolist(), allow_empty=True)
            continue
        if len(slots) == 0:
            continue  # nothing audible in this crop: an empty query with a silent target
        chosen = random_subset(slots, sample_query_size(len(slots), generator), generator)
        query[item] = processor.encode_query(stem_labels[item, chosen].tolist())
        target[item] = stems[item, chosen].sum(0)
    return {"query": query, "target_values": target}


def random_crop(
    batch: dict, num_samples: int, generator: torch.Generator, min_relative_energy: float = 1e-3, tries: int = 4
) -> dict:
    """Crop each item's mixture, stems and background to a random window of `num_samples`.

    A class counts as present in the crop only if its stem keeps at least `min_relative_energy`
    of its whole energy there (a faded tail is not a target); `stem_labels` and `presence` are
    updated to match. Each item redraws its window up to `tries` times to keep a present class.
    """
    length = batch["input_values"].shape[-1]
    if num_samples >= length:
        return batch
    cropped = {key: value.clone() if torch.is_tensor(value) else value for key, value in batch.items()}
    for key in ("input_values", "stems", "background"):
        if key in batch:
            cropped[key] = batch[key][..., :num_samples].clone()
    full_energy = batch["stems"].pow(2).sum(-1)
    for item in range(batch["input_values"].shape[0]):
        for _ in range(tries):
            start = int(torch.randint(0, length - num_samples + 1, (), generator=generator))
            window = slice(start, start + num_samples)
            kept = batch["stems"][item, :, window].pow(2).sum(-1) >= min_relative_energy * full_energy[item]
            kept &= batch["stem_labels"][item] >= 0
            if kept.any():
                break
        for key in ("input_values", "stems", "background"):
            if key in batch:
                cropped[key][item] = batch[key][item, ..., window]
        labels = batch["stem_labels"][item]
        cropped["stem_labels"][item] = torch.where(kept, labels, torch.full_like(labels, -1))
        cropped["presence"][item] = 0
        cropped["presence"][item, labels[kept]] = 1
    return cropped
