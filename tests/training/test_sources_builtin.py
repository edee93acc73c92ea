import hashlib

import numpy as np
import pytest
from datasets import DatasetDict

from modeling_qrtse.configuration_qrtse import FSD_KAGGLE_2018_LABELS
from qrtse.training.clip_pool import BACKGROUND, FOREGROUND
from qrtse.training.sources.builtin import BuiltinSource
from qrtse.training.sources.builtin.backgrounds import crowd_babble
from qrtse.training.sources.builtin.gm_classes import GM_CLASSES
from qrtse.training.sources.builtin.phrases import draw_phrase
from qrtse.training.sources.builtin.recordings import RecordedClasses

BUILTIN_CLASSES = (
    "Acoustic_guitar",
    "Applause",
    "Bark",
    "Bass_drum",
    "Cello",
    "Chime",
    "Clarinet",
    "Computer_keyboard",
    "Cowbell",
    "Double_bass",
    "Electric_piano",
    "Flute",
    "Glockenspiel",
    "Gunshot_or_gunfire",
    "Harmonica",
    "Hi-hat",
    "Meow",
    "Oboe",
    "Saxophone",
    "Snare_drum",
    "Tambourine",
    "Telephone",
    "Trumpet",
    "Violin_or_fiddle",
)


def test_vocabulary_is_the_covered_fsd_classes_in_fsd_order():
    assert BuiltinSource().class_names == BUILTIN_CLASSES
    assert list(BUILTIN_CLASSES) == [label for label in FSD_KAGGLE_2018_LABELS if label in BUILTIN_CLASSES]
    with_stand_ins = BuiltinSource(include_stand_ins=True).class_names
    assert set(with_stand_ins) - set(BUILTIN_CLASSES) == {"Knock", "Keys_jangling", "Squeak"}


@pytest.mark.parametrize("spec", GM_CLASSES, ids=lambda spec: spec.label)
def test_phrases_vary(spec):
    phrases = [draw_phrase(spec, np.random.default_rng(seed)) for seed in range(8)]
    assert all(p.notes for p in phrases)
    assert len({p.notes for p in phrases}) == 8
    for phrase in phrases:
        assert all(0 <= n.onset <= 7 and 1 <= n.velocity <= 127 and n.duration > 0 for n in phrase.notes)


def test_renders_are_reproducible_and_differ_by_seed():
    source = BuiltinSource()
    for label in ("Flute", "Hi-hat", "Telephone", "Bark", "Computer_keyboard"):
        first, _ = source.render_foreground(label, "train", np.random.default_rng([0, 1]))
        again, _ = BuiltinSource().render_foreground(label, "train", np.random.default_rng([0, 1]))
        other, _ = source.render_foreground(label, "train", np.random.default_rng([0, 2]))
        np.testing.assert_array_equal(first, again)
        assert len(first) != len(other) or not np.array_equal(first, other)
        assert np.max(np.abs(first)) > 1e-3


def test_recorded_classes_use_disjoint_material_per_split():
    recordings = RecordedClasses()
    for label in RecordedClasses.LABELS:
        train = {hashlib.sha1(u.tobytes()).hexdigest() for u in recordings.units(label, "train")}
        for split in ("validation", "test"):
            held_out = {hashlib.sha1(u.tobytes()).hexdigest() for u in recordings.units(label, split)}
            assert held_out and not train & held_out, (label, split)


def test_babble_is_reproducible():
    first = crowd_babble(np.random.default_rng(7), 32000)
    np.testing.assert_array_equal(crowd_babble(np.random.default_rng(7), 32000), first)
    assert np.all(np.isfinite(first)) and np.std(first) > 0


def test_backgrounds_are_reproducible():
    source = BuiltinSource(backgrounds_per_split={"test": 2}, background_seconds=3.0)
    first = [c.audio for c in source.iter_clips("test", BACKGROUND)]
    other_source = BuiltinSource(backgrounds_per_split={"test": 2}, background_seconds=3.0)
    again = [c.audio for c in other_source.iter_clips("test", BACKGROUND)]
    assert len(first) == 2 and all(len(a) == 48000 for a in first)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])


def test_toy_build_pools_share_no_clip_between_train_and_test(toy_builtin_build):
    clips = DatasetDict.load_from_disk(str(toy_builtin_build / "clips"))
    audio = {split: {hashlib.sha1(row["audio"]["bytes"]).hexdigest() for row in clips[split]} for split in clips}
    assert not audio["train"] & audio["test"] and not audio["train"] & audio["validation"]
    ids = {split: set(clips[split]["clip_id"]) for split in clips}
    assert not ids["train"] & ids["test"]
    train = clips["train"]
    roles = np.array(train["role"])
    labels = np.array(train["label"])[roles == train.features["role"].str2int(FOREGROUND)]
    assert np.bincount(labels, minlength=len(BUILTIN_CLASSES)).min() == 3  # every class, no clip dropped
    assert train.features["label"].names == list(BUILTIN_CLASSES)
