import pytest
import torch
from torch.utils.data import DataLoader

from qrtse.training.dynamic_dataset import DynamicMixtureDataset


def _mixture_key(example):
    return tuple(example["input_values"][::997].tolist())


def test_examples_are_exact_and_shaped(tone_pools):
    dataset = DynamicMixtureDataset(*tone_pools, num_classes=8, mixtures_per_epoch=6)
    examples = list(dataset)
    assert len(examples) == len(dataset) == 6
    for example in examples:
        assert example["input_values"].shape == (96000,) and example["input_values"].dtype == torch.float32
        assert example["stems"].shape == (5, 96000) and example["background"].shape == (96000,)
        assert example["stem_labels"].dtype == torch.int64 and example["stem_labels"].shape == (5,)
        assert example["presence"].shape == (8,) and example["presence"].dtype == torch.float32
        assert torch.equal(example["stems"].sum(0) + example["background"], example["input_values"])
        present = example["stem_labels"][example["stem_labels"] >= 0]
        assert 3 <= len(present) <= 5
        assert torch.equal(torch.nonzero(example["presence"]).flatten(), present.sort().values)


def test_seeded_per_epoch(tone_pools):
    dataset = DynamicMixtureDataset(*tone_pools, num_classes=8, mixtures_per_epoch=4, seed=1)
    first = [_mixture_key(e) for e in dataset]
    assert [_mixture_key(e) for e in dataset] == first
    dataset.set_epoch(1)
    assert not {_mixture_key(e) for e in dataset} & set(first)


def test_workers_split_the_epoch_without_repeats(tone_pools):
    dataset = DynamicMixtureDataset(*tone_pools, num_classes=8, mixtures_per_epoch=6)
    single = {_mixture_key(e) for e in dataset}
    loader = DataLoader(dataset, batch_size=None, num_workers=2)
    with_workers = [_mixture_key(e) for e in loader]
    assert len(with_workers) == 6 and set(with_workers) == single


def test_batches_collate(tone_pools):
    loader = DataLoader(DynamicMixtureDataset(*tone_pools, num_classes=8, mixtures_per_epoch=4), batch_size=2)
    batch = next(iter(loader))
    assert batch["input_values"].shape == (2, 96000) and batch["presence"].shape == (2, 8)


def test_from_build(toy_builtin_build):
    dataset = DynamicMixtureDataset.from_build(toy_builtin_build, mixtures_per_epoch=2)
    assert len(dataset.class_names) == 24
    example = next(iter(dataset))
    assert example["presence"].shape == (24,)
    assert torch.equal(example["stems"].sum(0) + example["background"], example["input_values"])


def test_infinite_without_epoch_size(tone_pools):
    dataset = DynamicMixtureDataset(*tone_pools, num_classes=8)
    iterator = iter(dataset)
    assert len({_mixture_key(next(iterator)) for _ in range(5)}) == 5
    with pytest.raises(TypeError):
        len(dataset)
