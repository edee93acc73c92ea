import csv
import logging

import numpy as np
import pytest
from datasets import DatasetDict

from modeling_qrtse.configuration_qrtse import FSD_KAGGLE_2018_LABELS
from qrtse.training.build_dataset import BuildArguments, MixingArguments, SourceArguments, build
from qrtse.training.clip_dataset import build_clip_dataset, load_clip_pools
from qrtse.training.clip_pool import BACKGROUND, FOREGROUND
from qrtse.training.frozen_split import class_names_of, decode_mixture, load_frozen_split, rebuild_mixture, recipes_only
from qrtse.training.sources.fsd_tau import FSD_TRAIN_CSV, FsdTauSource


def test_official_layouts_give_the_paper_splits(fake_fsd_tau, fake_fsd_classes):
    fsd, tau = fake_fsd_tau
    source = FsdTauSource(fsd, tau, validation_fraction=0.34)
    assert len(source.class_names) == 41
    assert source.num_clips("test", FOREGROUND) == len(fake_fsd_classes)  # the official test CSV
    assert source.num_clips("train", FOREGROUND) + source.num_clips("validation", FOREGROUND) == 3 * len(
        fake_fsd_classes
    )
    # TAU: fold1_evaluate (Milan) is the test split; train locations are split, never shared.
    test_ids = {c.clip_id for c in source.iter_clips("test", BACKGROUND)}
    assert test_ids == {"tau/street_traffic-milan-4-0-a", "tau/street_traffic-milan-4-1-a"}
    locations = {
        split: {c.clip_id.split("-", 1)[1].rsplit("-", 2)[0] for c in source.iter_clips(split, BACKGROUND)}
        for split in ("train", "validation")
    }
    assert locations["train"] and locations["validation"] and not locations["train"] & locations["validation"]


def test_clips_are_resampled_to_16k(fake_fsd_tau, fake_fsd_classes):
    fsd, tau = fake_fsd_tau
    source = FsdTauSource(fsd, tau)
    clip = next(source.iter_clips("test", FOREGROUND))
    assert clip.clip_id.startswith("fsd/") and clip.label in fake_fsd_classes
    assert abs(len(clip.audio) - 3.5 * 16000) <= 1  # 3.5 s at 44.1 kHz
    background = next(source.iter_clips("test", BACKGROUND))
    assert abs(len(background.audio) - 3 * 16000) <= 1  # 3 s stereo at 48 kHz


def test_label_outside_vocabulary_is_a_clear_error(fake_fsd_tau, fake_fsd_classes):
    fsd, tau = fake_fsd_tau
    with open(fsd / FSD_TRAIN_CSV, "a", newline="") as handle:
        csv.writer(handle).writerow(["99999999.wav", "Dog_barking_loudly", 1, 1, "Attribution"])
    with pytest.raises(ValueError, match="Dog_barking_loudly.*not in the vocabulary"):
        FsdTauSource(fsd, tau)


def test_missing_column_is_a_clear_error(fake_fsd_tau, fake_fsd_classes):
    fsd, tau = fake_fsd_tau
    path = fsd / FSD_TRAIN_CSV
    path.write_text(path.read_text().replace("label,", "tag,", 1))
    with pytest.raises(ValueError, match="lacks column"):
        FsdTauSource(fsd, tau)


def test_corrupt_clip_is_reported_and_skipped(fake_fsd_tau, fake_fsd_classes, tmp_path, caplog):
    fsd, tau = fake_fsd_tau
    corrupt = min((fsd / "FSDKaggle2018.audio_test").glob("*.wav"))
    corrupt.write_bytes(b"\x00" * 100)
    with caplog.at_level(logging.WARNING):
        clips = build_clip_dataset(FsdTauSource(fsd, tau), tmp_path / "clips", progress=False)
    assert str(corrupt) in caplog.text
    test_ids = set(clips["test"]["clip_id"])
    assert f"fsd/{corrupt.name}" not in test_ids and len(test_ids) == len(fake_fsd_classes) - 1 + 2


def test_clip_pools_never_share_clips_between_splits(fake_fsd_tau, fake_fsd_classes, tmp_path):
    fsd, tau = fake_fsd_tau
    build_clip_dataset(FsdTauSource(fsd, tau), tmp_path / "clips", progress=False)
    clips = DatasetDict.load_from_disk(str(tmp_path / "clips"))
    ids = {split: set(clips[split]["clip_id"]) for split in clips}
    assert not ids["train"] & ids["test"] and not ids["train"] & ids["validation"]
    foreground, background, class_names = load_clip_pools(tmp_path / "clips", "train")
    assert {class_names[label] for label in foreground.classes()} == set(fake_fsd_classes)
    assert len(background) > 0 and set(background.labels) == {-1}


def test_build_from_official_layouts(fake_fsd_tau, fake_fsd_classes, tmp_path):
    fsd, tau = fake_fsd_tau
    output = tmp_path / "fsd-tau"
    build(
        BuildArguments(source="fsd-tau", output=str(output), num_validation=3, num_test=4, no_progress=True),
        MixingArguments(),
        SourceArguments(fsd_root=str(fsd), tau_root=str(tau), validation_fraction=0.34),
    )
    test = load_frozen_split(output, "test")
    assert len(test) == 4 and class_names_of(test) == FSD_KAGGLE_2018_LABELS
    # TAU forbids publishing renders: the card says so and recipes alone rebuild the audio.
    assert "Do not publish the audio" in (output / "README.md").read_text()
    recipes = recipes_only(test)
    assert "mixture" not in recipes.column_names and "stems" not in recipes.column_names
    foreground, background, _ = load_clip_pools(output / "clips", "test")
    for row, recipe_row in zip(test, recipes):
        rebuilt = rebuild_mixture(recipe_row, foreground, background)
        np.testing.assert_array_equal(rebuilt.mixture, decode_mixture(row)["mixture"])
