import torch

from modeling_qrtse import QrtseFeatureExtractor, QrtseProcessor
from qrtse.training.training_batches import build_training_batch, random_crop

PROCESSOR = QrtseProcessor(QrtseFeatureExtractor(), labels=[f"class_{index}" for index in range(12)])


def make_batch():
    stems = torch.randn(3, 5, 100)
    stem_labels = torch.tensor([[4, 7, 9, -1, -1], [1, 2, 3, 5, 6], [0, 8, 2, -1, -1]])
    stems[stem_labels < 0] = 0
    presence = torch.zeros(3, 12)
    for item, labels in enumerate(stem_labels):
        presence[item, labels[labels >= 0]] = 1
    return {"input_values": stems.sum(1), "stems": stems, "stem_labels": stem_labels, "presence": presence}


def test_fmq_queries_name_active_classes_and_targets_sum_their_stems():
    batch = make_batch()
    for seed in range(20):
        out = build_training_batch(batch, PROCESSOR, torch.Generator().manual_seed(seed))
        for item in range(3):
            chosen = out["query"][item].nonzero().flatten()
            assert len(chosen) >= 1
            assert bool((batch["presence"][item, chosen] == 1).all())
            slots = torch.isin(batch["stem_labels"][item], chosen)
            assert torch.allclose(out["target_values"][item], batch["stems"][item, slots].sum(0), atol=1e-6)


def test_inactive_samples_query_absent_classes_with_silent_targets():
    batch = make_batch()
    out = build_training_batch(batch, PROCESSOR, torch.Generator().manual_seed(0), inactive_fraction=1.0)
    assert bool((out["target_values"] == 0).all())
    assert bool((out["query"] * batch["presence"] == 0).all()) and bool((out["query"].sum(1) >= 1).all())


def test_same_generator_seed_same_queries():
    batch = make_batch()
    a = build_training_batch(batch, PROCESSOR, torch.Generator().manual_seed(5), 0.5)
    b = build_training_batch(batch, PROCESSOR, torch.Generator().manual_seed(5), 0.5)
    assert torch.equal(a["query"], b["query"]) and torch.equal(a["target_values"], b["target_values"])


def test_random_crop_keeps_mixture_and_stems_aligned():
    batch = make_batch()
    cropped = random_crop(batch, 40, torch.Generator().manual_seed(1))
    assert cropped["input_values"].shape[-1] == 40 and cropped["stems"].shape[-1] == 40
    assert torch.allclose(cropped["input_values"], cropped["stems"].sum(1))


def test_classes_silent_in_the_crop_are_no_longer_present():
    batch = make_batch()
    batch["stems"][0, 0, :50] = 0  # class 4 sounds only in the second half
    batch["stems"][0, 1, 50:] = 0  # class 7 only in the first half
    batch["input_values"] = batch["stems"].sum(1)
    for seed in range(10):
        cropped = random_crop(batch, 50, torch.Generator().manual_seed(seed))
        labels = cropped["stem_labels"][0]
        audible = cropped["stems"][0].pow(2).sum(-1) > 0
        assert bool((labels[~audible] == -1).all())
        assert cropped["presence"][0].nonzero().flatten().tolist() == sorted(labels[labels >= 0].tolist())
        out = build_training_batch(cropped, PROCESSOR, torch.Generator().manual_seed(seed))
        assert out["target_values"][0].pow(2).sum() > 0
