"""Where training and evaluation read their mixtures: the output folder of `qrtse.training.build_dataset`
(`clips/` train pools for dynamic mixing, `mixtures/` frozen validation and test splits)."""

from functools import lru_cache

import numpy as np
from accelerate import skip_first_batches
from torch.utils.data import DataLoader, Dataset

from .dynamic_dataset import DynamicMixtureDataset
from .frozen_split import class_names_of, decode_mixture, load_frozen_split


def class_names(data_dir: str) -> list:
    """The vocabulary of a build, as stored in its frozen validation split."""
    return list(class_names_of(load_frozen_split(data_dir, "validation")))


@lru_cache(maxsize=2)
def _train_mixer(data_dir: str) -> DynamicMixtureDataset:
    # Decoding the train pools once per process, not once per epoch.
    return DynamicMixtureDataset.from_build(data_dir, "train", preload=True)


class EpochMixtures(Dataset):
    """Mixture i of an epoch, drawn from `default_rng([seed, epoch, rank, i])` exactly as
    `DynamicMixtureDataset` draws it, but indexable: a resumed run starts at the next unseen
    index instead of re-rendering the skipped ones."""

    def __init__(self, mixer: DynamicMixtureDataset, size: int, seed: int, epoch: int, rank: int):
        self.mixer, self.size, self.key = mixer, size, (seed, epoch, rank)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict:
        return self.mixer.example(np.random.default_rng([*self.key, index]))


def training_batches(data_args, train_args, epoch: int, accelerator, skip: int = 0) -> DataLoader:
    """This process's batches of `epoch`, after the first `skip` (already trained on).

    Not passed through `accelerator.prepare`: each process draws its own mixtures (rank in the
    seed), which is what sharding would achieve, and batches stay on the CPU until `.to(device)`.
    """
    epoch_mixtures = EpochMixtures(
        _train_mixer(data_args.data_dir),
        train_args.steps_per_epoch * train_args.batch_size,
        train_args.seed,
        epoch,
        accelerator.process_index,
    )
    loader = DataLoader(
        epoch_mixtures, batch_size=train_args.batch_size, num_workers=data_args.num_workers, drop_last=True
    )
    # Skips at the batch-sampler level: the skipped mixtures are never rendered.
    return skip_first_batches(loader, skip) if skip else loader


def frozen_examples(data_dir: str, split: str, limit=None):
    """Decoded rows (numpy arrays, see `decode_mixture`) of a frozen split, in order."""
    dataset = load_frozen_split(data_dir, split)
    if limit is not None:
        dataset = dataset.select(range(min(limit, len(dataset))))
    for row in dataset:
        yield decode_mixture(row)
