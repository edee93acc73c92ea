"""Training queries and targets built from per-class stems (paper Section 3.3: FMQ only).

Distribution (the paper does not give one): each example asks for k of its n active classes,
k = 1 with probability 1/2 (the evaluation's single-target case) and otherwise uniform over
2..n; the classes are a uniform random subset. The target is the exact sum of their stems.
Baseline 2 turns a `inactive_fraction` share of examples into inactive samples: the query names
k absent classes (same k distribution, capped by the number absent) and the target is silence.
"""

import torch


def sample_query_size(num_active: int, generator: torch.Generator) -> int:
    if num_active <= 1 or torch.rand((), generator=generator) < 0.5:
        return 1
    return int(torch.randint(2, num_active + 1, (), generator=generator))


def random_subset(candidates: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    return candidates[torch.randperm(len(candidates), generator=generator)[:size]]


def build_training_batch(batch: dict, num_labels: int, generator: torch.Generator, inactive_fraction: float = 0.0) -> dict:
    """From `stems` (B, S, T), `stem_labels` (B, S, -1 padded) and `presence` (B, C), build
    `query` (B, C) and `target_values` (B, T)."""
    stems, stem_labels = batch["stems"], batch["stem_labels"]
    batch_size = stems.shape[0]
    query = torch.zeros(batch_size, num_labels)
    target = torch.zeros(batch_size, stems.shape[-1])
    for item in range(batch_size):
        slots = (stem_labels[item] >= 0).nonzero().flatten()
        if inactive_fraction > 0 and torch.rand((), generator=generator) < inactive_fraction:
            absent = (batch["presence"][item] == 0).nonzero().flatten()
            chosen = random_subset(absent, min(sample_query_size(len(slots), generator), len(absent)), generator)
            query[item, chosen] = 1
            continue
        chosen = random_subset(slots, sample_query_size(len(slots), generator), generator)
        query[item, stem_labels[item, chosen]] = 1
        target[item] = stems[item, chosen].sum(0)
    return {"query": query, "target_values": target}


def random_crop(batch: dict, num_samples: int, generator: torch.Generator) -> dict:
    """Crop mixture, stems and background to the same random window of `num_samples`."""
    length = batch["input_values"].shape[-1]
    if num_samples >= length:
        return batch
    start = int(torch.randint(0, length - num_samples + 1, (), generator=generator))
    cropped = dict(batch)
    for key in ("input_values", "stems", "background"):
        if key in batch:
            cropped[key] = batch[key][..., start : start + num_samples]
    return cropped
