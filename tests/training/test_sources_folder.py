import io
import logging

import numpy as np
import pytest
import soundfile as sf
from datasets import Audio, ClassLabel, Dataset

from qrtse.training.clip_dataset import build_clip_dataset
from qrtse.training.clip_pool import BACKGROUND, FOREGROUND
from qrtse.training.sources.folder import HuggingFaceDatasetSource, LabelledFolderSource


def _tone(frequency, seconds=1.0, sample_rate=22050):
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return 0.3 * np.sin(2 * np.pi * frequency * t)


@pytest.fixture
def sound_folders(tmp_path):
    foreground, background = tmp_path / "sounds", tmp_path / "noise"
    for index, label in enumerate(["whistle", "Alarm", "motor"]):
        (foreground / label).mkdir(parents=True)
        for k in range(5):
            suffix = ".flac" if k % 2 else ".wav"
            sf.write(foreground / label / f"{k}{suffix}", _tone(300 + 100 * index + 7 * k), 22050)
    (background / "street").mkdir(parents=True)
    for k in range(5):
        sf.write(background / "street" / f"{k}.ogg", 0.05 * np.random.default_rng(k).standard_normal(16000), 16000)
    return foreground, background


def test_vocabulary_comes_from_the_folders_sorted(sound_folders):
    source = LabelledFolderSource(*sound_folders)
    assert source.class_names == ("Alarm", "motor", "whistle")
    counts = {split: source.num_clips(split, FOREGROUND) for split in ("train", "validation", "test")}
    assert counts == {"train": 9, "validation": 3, "test": 3}
    assert sum(source.num_clips(s, BACKGROUND) for s in ("train", "validation", "test")) == 5
    clip = next(source.iter_clips("train", FOREGROUND))
    assert clip.label in source.class_names and clip.audio.dtype == np.float32


def test_split_subfolders_are_used_as_given(tmp_path, sound_folders):
    _, background = sound_folders
    root = tmp_path / "split_sounds"
    for split, count in (("train", 3), ("validation", 1), ("test", 2)):
        (root / split / "bell").mkdir(parents=True)
        for k in range(count):
            sf.write(root / split / "bell" / f"{k}.wav", _tone(500 + 50 * k + 10 * len(split)), 22050)
    source = LabelledFolderSource(root, background)
    assert source.class_names == ("bell",)
    assert [source.num_clips(s, FOREGROUND) for s in ("train", "validation", "test")] == [3, 1, 2]


def test_fixed_vocabulary_rejects_unknown_labels(sound_folders):
    with pytest.raises(ValueError, match="'motor'.*not in the vocabulary"):
        LabelledFolderSource(*sound_folders, class_names=("Alarm", "whistle"))


def test_corrupt_file_is_reported_and_skipped(sound_folders, tmp_path, caplog):
    foreground, background = sound_folders
    corrupt = foreground / "motor" / "broken.mp3"
    corrupt.write_bytes(b"ID3" + b"\xff" * 50)
    source = LabelledFolderSource(foreground, background, validation_fraction=0.01, test_fraction=0.01)
    with caplog.at_level(logging.WARNING):
        clips = build_clip_dataset(source, tmp_path / "clips", progress=False)
    assert "broken.mp3" in caplog.text
    assert not any("broken" in clip_id for split in clips.values() for clip_id in split["clip_id"])


def test_hugging_face_dataset_source(sound_folders):
    _, background = sound_folders

    def flac(frequency):
        buffer = io.BytesIO()
        sf.write(buffer, _tone(frequency), 22050, format="FLAC")
        return {"bytes": buffer.getvalue(), "path": None}

    # Cast rather than encode: encoding through `Audio` would need torchcodec, which is not installed.
    dataset = Dataset.from_dict({"sound": [flac(200 + 30 * i) for i in range(12)], "kind": [i % 3 for i in range(12)]})
    dataset = dataset.cast_column("sound", Audio()).cast_column("kind", ClassLabel(names=["c", "b", "a"]))
    source = HuggingFaceDatasetSource(dataset, background, audio_column="sound", label_column="kind")
    assert source.class_names == ("a", "b", "c")
    clips = [c for s in ("train", "validation", "test") for c in source.iter_clips(s, FOREGROUND)]
    assert len(clips) == 12 and {c.label for c in clips} == {"a", "b", "c"}
    with pytest.raises(ValueError, match="no column 'label'"):
        HuggingFaceDatasetSource(dataset, background, audio_column="sound")
