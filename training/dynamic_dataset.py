"""On-the-fly training mixtures from the train clip pools (paper Section 4.1, dynamic mixing).

Every mixture is drawn fresh, so an epoch of the paper's 50k training mixtures is never the
same twice, while a run stays reproducible: mixture i of epoch e on rank r comes from
`np.random.default_rng([seed, epoch, rank, i])`, and DataLoader worker w (of W) renders the
indices i = w, w + W, ... (`get_worker_info`), so workers never repeat each other and a finite
epoch holds the same mixtures whatever the number of workers.
"""

import itertools
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from .clip_dataset import load_clip_pools
from .mixing import DEFAULT_MIXING, mix, presence_vector


def _distributed_rank() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank()
    return 0


class DynamicMixtureDataset(IterableDataset):
    """Yields freshly mixed training examples as dicts of tensors:

    - `input_values` (`torch.FloatTensor` of shape `(T,)`): the mixture;
    - `stems` (`torch.FloatTensor` of shape `(max_sources, T)`): per-class foreground stems, zero rows
      for unused slots;
    - `stem_labels` (`torch.LongTensor` of shape `(max_sources,)`): class per slot, -1 if unused;
    - `background` (`torch.FloatTensor` of shape `(T,)`);
    - `presence` (`torch.FloatTensor` of shape `(num_classes,)`): multi-hot of the present classes.

    `input_values == stems.sum(0) + background` exactly. Queries and targets are built from the
    stems by the training code.

    Args:
        foreground, background (`ClipPool`): train pools (`qrtse.training.clip_dataset.load_clip_pools`).
        num_classes (`int`): length of `presence` (the vocabulary size).
        mixtures_per_epoch (`int`, *optional*): mixtures per epoch, shared among DataLoader
            workers; None iterates forever.
        config (`MixingConfig`): the recipe (3-5 classes, SNR 15-25 dB, 6 s, 16 kHz).
        seed (`int`): base seed. Call `set_epoch` before each epoch for a new draw (with
            `persistent_workers=True` the workers keep the epoch they were started with).
    """

    def __init__(
        self, foreground, background, num_classes: int, mixtures_per_epoch=None, config=DEFAULT_MIXING, seed=0
    ):
        super().__init__()
        self.foreground, self.background = foreground, background
        self.num_classes, self.mixtures_per_epoch = num_classes, mixtures_per_epoch
        self.config, self.seed, self.epoch = config, seed, 0
        if len(foreground.classes()) < config.max_sources:
            raise ValueError(
                f"the train pool has {len(foreground.classes())} classes; mixtures need {config.max_sources}"
            )

    @classmethod
    def from_build(cls, data_dir, split: str = "train", preload: bool = False, **kwargs) -> "DynamicMixtureDataset":
        """From the output folder of `python -m qrtse.training.build_dataset` (reads `<data_dir>/clips`)."""
        foreground, background, class_names = load_clip_pools(Path(data_dir) / "clips", split, preload=preload)
        dataset = cls(foreground, background, num_classes=len(class_names), **kwargs)
        dataset.class_names = class_names
        return dataset

    def set_epoch(self, epoch: int):
        self.epoch = epoch

    def __len__(self):
        if self.mixtures_per_epoch is None:
            raise TypeError("DynamicMixtureDataset without mixtures_per_epoch is infinite")
        return self.mixtures_per_epoch

    def _worker_indices(self):
        """This worker's share of the epoch's mixture indices (every num_workers-th)."""
        worker = get_worker_info()
        worker_id, num_workers = (worker.id, worker.num_workers) if worker is not None else (0, 1)
        if self.mixtures_per_epoch is None:
            return itertools.count(worker_id, num_workers)
        return range(worker_id, self.mixtures_per_epoch, num_workers)

    def example(self, rng: np.random.Generator) -> dict:
        """Draw and render one training example."""
        _, rendered = mix(rng, self.foreground, self.background, self.config)
        return {
            "input_values": torch.from_numpy(rendered.mixture),
            "stems": torch.from_numpy(rendered.stems),
            "stem_labels": torch.from_numpy(rendered.stem_labels),
            "background": torch.from_numpy(rendered.background),
            "presence": torch.from_numpy(presence_vector(rendered.stem_labels, self.num_classes)),
        }

    def __iter__(self):
        rank = _distributed_rank()
        for index in self._worker_indices():
            yield self.example(np.random.default_rng([self.seed, self.epoch, rank, index]))
