import numpy as np
import pytest
from datasets import Dataset

from qrtse.training.clip_dataset import load_clip_pools
from qrtse.training.frozen_split import (
    class_names_of,
    decode_mixture,
    iter_mixture_examples,
    load_frozen_split,
    rebuild_mixture,
    recipes_only,
    save_frozen_splits,
)
from qrtse.training.mixing import measure_event_snrs


@pytest.fixture(scope="module")
def test_split(toy_builtin_build):
    return load_frozen_split(toy_builtin_build, "test")


def test_schema(test_split):
    assert len(test_split) == 6
    names = class_names_of(test_split)
    assert len(names) == 24 and names[0] == "Acoustic_guitar"
    assert test_split.features["presence"].length == len(names)
    assert test_split.features["mixture"].decode is False and test_split.features["stems"].decode is False
    row = test_split[0]
    assert row["mixture_id"] == "test-000000" and len(row["stem_labels"]) == 5
    assert set(row["recipe"]) == {"events", "background_clip_id", "background_offset", "background_gain", "num_samples"}


def test_every_stored_mixture_is_the_exact_sum_with_snrs_in_range(test_split):
    for row in test_split:
        decoded = decode_mixture(row)
        assert decoded["sample_rate"] == 16000 and decoded["mixture"].shape == (96000,)
        assert decoded["stems"].shape == (5, 96000) and decoded["mixture"].dtype == np.float32
        np.testing.assert_array_equal(decoded["stems"].sum(axis=0) + decoded["background"], decoded["mixture"])
        events = row["recipe"]["events"]
        used = decoded["stem_labels"] >= 0
        assert used.sum() == row["num_sources"] == len(events) and 3 <= len(events) <= 5
        assert not decoded["stems"][~used].any()
        np.testing.assert_array_equal(np.flatnonzero(decoded["presence"]), np.sort(decoded["stem_labels"][used]))
        snrs = measure_event_snrs(
            decoded["stems"], decoded["background"], [e["onset"] for e in events], [e["length"] for e in events]
        )
        assert np.all((snrs > 15 - 0.01) & (snrs < 25 + 0.01))
        np.testing.assert_allclose(snrs, [e["snr_db"] for e in events], atol=0.01)


def test_recipes_rebuild_the_stored_audio_bit_exactly(toy_builtin_build, test_split):
    foreground, background, _ = load_clip_pools(toy_builtin_build / "clips", "test")
    for row in recipes_only(test_split):
        rebuilt = rebuild_mixture(row, foreground, background)
        stored = decode_mixture(test_split[int(row["mixture_id"].split("-")[1])])
        np.testing.assert_array_equal(rebuilt.mixture, stored["mixture"])
        np.testing.assert_array_equal(rebuilt.stems, stored["stems"])


def test_loading_from_every_place(toy_builtin_build, test_split):
    from_parquet = load_frozen_split(toy_builtin_build / "data" / "test-00000-of-00001.parquet")
    from_folder = load_frozen_split(toy_builtin_build / "mixtures" / "test")
    from_dict = load_frozen_split(toy_builtin_build / "mixtures", "test")
    for dataset in (from_parquet, from_folder, from_dict):
        assert dataset.features == test_split.features and dataset[3]["mixture_id"] == test_split[3]["mixture_id"]
        assert dataset[3]["mixture"]["bytes"] == test_split[3]["mixture"]["bytes"]
    with pytest.raises(ValueError, match="pass split"):
        load_frozen_split(toy_builtin_build, "train")


def test_fixed_length_columns_stack_as_tensors(test_split):
    batch = test_split.with_format("torch", columns=["stem_labels", "presence"])[:4]
    assert tuple(batch["stem_labels"].shape) == (4, 5) and tuple(batch["presence"].shape) == (4, 24)


def test_workers_do_not_change_the_split(toy_builtin_build, tmp_path):
    foreground, background, names = load_clip_pools(toy_builtin_build / "clips", "validation")
    rows = {}
    for workers in (1, 2):
        examples = iter_mixture_examples(
            "validation", 5, 0, foreground, background, names, num_workers=workers, progress=False
        )
        rows[workers] = list(examples)
    assert [r["mixture"]["bytes"] for r in rows[1]] == [r["mixture"]["bytes"] for r in rows[2]]
    saved = save_frozen_splits({"validation": iter(rows[2])}, names, tmp_path / "out", "fingerprint")
    assert isinstance(saved["validation"], Dataset) and len(saved["validation"]) == 5
