"""The real-recordings source on a fake Debian cache laid out as `DebianCache` unpacks packages."""

import json
import logging
import struct

import numpy as np
import pytest
import soundfile as sf

from qrtse.training.clip_pool import BACKGROUND, FOREGROUND
from qrtse.training.sources.base import Clip, ClipSource
from qrtse.training.sources.mixed import RenderedAndRealSource
from qrtse.training.sources.real_recordings import RealRecordingsSource
from qrtse.training.sources.real_recordings.__main__ import main as summary_main
from qrtse.training.sources.real_recordings.duplicates import same_recording
from qrtse.training.sources.real_recordings.gus_patch import read_gus_patch
from qrtse.training.sources.real_recordings.manifest import load_manifest
from qrtse.training.sources.real_recordings.packages import COMPLETE_MARKER, RESERVED_PACKAGES, DebianCache
from qrtse.training.sources.real_recordings.source import split_units

SR = 16000

MANIFEST = """
[[package]]
name = "drums-a"
version = "1.0-1"
licence = "GPL-2"

[[package]]
name = "drums-b"
version = "2:3.0-2"
licence = "CC0"

[[rule]]
label = "Bass_drum"
package = "drums-a"
pattern = "usr/share/kits/*/kick*.wav"
group = "folder"

[[rule]]
label = "Bass_drum"
package = "drums-b"
pattern = "usr/share/kick-*.wav"

[[rule]]
label = "Laughter"
package = "drums-a"
pattern = "usr/share/voices/*/laugh.wav"
exclude = "*/robot/*"

[[rule]]
label = "background"
package = "drums-b"
pattern = "usr/share/ambience/*.wav"
segment = "windows"
window_s = 2.0
"""


def tone(seed: int, seconds: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * rng.uniform(80, 900) * t) * np.exp(-t * rng.uniform(1, 6))).astype(np.float32)


def write(path, audio):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, SR)


@pytest.fixture
def fake_cache(tmp_path):
    """Two unpacked packages: 6 kits + a corrupt file in drums-a, 2 kicks + ambience in drums-b."""
    a = tmp_path / "cache" / "drums-a" / "1.0-1"
    b = tmp_path / "cache" / "drums-b" / "2%3a3.0-2"
    for kit in range(6):
        for layer in range(2):
            write(a / f"usr/share/kits/kit{kit}/kick{layer}.wav", tone(10 * kit + layer) * (0.5 + layer / 2))
    (a / "usr/share/kits/kit0/kick_broken.wav").write_bytes(b"RIFF not really a wav")
    for voice in ("alice", "bob", "carol", "robot"):
        write(a / f"usr/share/voices/{voice}/laugh.wav", tone(hash(voice) % 1000, 1.0))
    write(b / "usr/share/kick-1.wav", tone(100))
    write(b / "usr/share/kick-2.wav", tone(0) * 0.3)  # the same recording as drums-a kit0/kick0
    write(b / "usr/share/ambience/street.wav", np.random.default_rng(5).normal(0, 0.1, 5 * SR).astype(np.float32))
    for folder in (a, b):
        (folder / COMPLETE_MARKER).write_text("fake\n")
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(MANIFEST)
    return tmp_path / "cache", manifest


@pytest.fixture
def source(fake_cache, caplog):
    cache, manifest = fake_cache
    with caplog.at_level(logging.WARNING):
        built = RealRecordingsSource(DebianCache(cache, fetch=False), load_manifest(manifest))
    built.warnings = caplog.text
    return built


def test_shipped_manifest_loads_and_names_no_reserved_package():
    manifest = load_manifest()
    assert len(manifest.rules) > 30 and not set(manifest.packages) & RESERVED_PACKAGES
    assert all(not name.startswith("wesnoth") for name in manifest.packages)
    assert all(manifest.licence_of(rule) for rule in manifest.rules)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.replace('name = "drums-b"', 'name = "sound-icons"'), "reserved for independent evaluation"),
        (lambda m: m.replace('name = "drums-b"', 'name = "wesnoth-1.18-data"'), "reserved"),
        (lambda m: m.replace('label = "Laughter"', 'label = "Giggle"'), "not an FSDKaggle2018 class"),
        (lambda m: m.replace("window_s = 2.0", "window = 2.0"), "unknown"),
        (lambda m: m.replace('segment = "windows"', 'segment = "slices"'), "segment must be one of"),
        (
            lambda m: m.replace(
                'package = "drums-b"\npattern = "usr/share/kick', 'package = "drums-c"\npattern = "usr/share/kick'
            ),
            "no \\[\\[package\\]\\] entry",
        ),
    ],
)
def test_malformed_manifests_are_refused(tmp_path, edit, message):
    path = tmp_path / "bad.toml"
    path.write_text(edit(MANIFEST))
    with pytest.raises(ValueError, match=message):
        load_manifest(path)


def test_cache_refuses_reserved_packages(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        DebianCache(tmp_path).package_root("bucklespring-data", "1.0")


def test_rules_label_files_and_undecodable_files_are_reported_and_skipped(source):
    assert source.class_names == ("Bass_drum", "Laughter")
    assert "kick_broken.wav" in source.warnings
    laughs = [f for f in source.files if f.label == "Laughter"]
    assert sorted(f.relative_path.split("/")[-2] for f in laughs) == ["alice", "bob", "carol"]  # robot excluded
    assert all(f.package == "drums-b" for f in source.files if f.label == "background")


def test_splits_never_share_a_unit_with_training_and_hold_out_the_other_package(source):
    train_units = {f.unit for f in source.files if "train" in source.split_of(f) and f.clips}
    held = [f for f in source.files if f.clips and set(source.split_of(f)) & {"validation", "test"}]
    assert held and not {f.unit for f in held} & train_units
    kicks = [f for f in source.files if f.label == "Bass_drum" and f.clips]
    assert all(source.split_of(f) != ("train",) for f in kicks if f.package == "drums-b")
    # drums-a has 6 kits: every third is held out too, kept whole (both layers in one split)
    held_kits = {f.unit for f in kicks if f.package == "drums-a" and source.split_of(f) != ("train",)}
    assert held_kits == {"drums-a:usr/share/kits/kit1", "drums-a:usr/share/kits/kit4"}
    for split in ("validation", "test"):
        assert source.clips(split, FOREGROUND)


def test_validation_and_test_never_hold_the_same_clip(source):
    validation = {c.clip_id for c in source.clips("validation", FOREGROUND)}
    test = {c.clip_id for c in source.clips("test", FOREGROUND)}
    assert validation and test and not validation & test
    laughs = {c.label for c in source.clips("test", FOREGROUND)}
    assert "Laughter" in laughs  # a class with a single held-out voice still reaches test


def test_the_same_recording_in_two_packages_is_kept_once(source):
    assert [dropped for _, dropped in source.duplicates] == ["real/drums-b/usr/share/kick-2.wav#0"]
    assert not any(f.clips for f in source.files if f.relative_path.endswith("kick-2.wav"))
    assert not same_recording(tone(1), tone(2)) and same_recording(tone(3), 0.2 * tone(3))


def test_backgrounds_are_cut_into_windows_and_unlabelled(source):
    clips = [c for s in ("train", "validation", "test") for c in source.clips(s, BACKGROUND)]
    assert len(clips) == 2 and all(c.label is None and len(c.audio) == 2 * SR for c in clips)


def test_a_rule_that_matches_nothing_fails_the_build(fake_cache):
    cache, manifest = fake_cache
    manifest.write_text(MANIFEST.replace("kick-*.wav", "snare-*.wav"))
    with pytest.raises(ValueError, match="matches no file"):
        RealRecordingsSource(DebianCache(cache, fetch=False), load_manifest(manifest))


def test_missing_packages_and_missing_apt_are_left_out_with_a_reason(fake_cache, monkeypatch):
    cache, manifest = fake_cache
    empty = DebianCache(cache.parent / "empty", fetch=False)
    assert RealRecordingsSource(empty, load_manifest(manifest)).left_out == {
        "drums-a": "not in the cache and fetching is off",
        "drums-b": "not in the cache and fetching is off",
    }
    monkeypatch.setattr("shutil.which", lambda name: None)
    left_out = RealRecordingsSource(DebianCache(cache.parent / "empty"), load_manifest(manifest)).left_out
    assert all("apt-get / dpkg-deb not found" in why for why in left_out.values())


def test_summary_command_prints_and_writes_json(fake_cache, tmp_path, capsys):
    cache, manifest = fake_cache
    out = tmp_path / "summary.json"
    summary_main(["--summary", "--json", str(out), "--cache", str(cache), "--manifest", str(manifest), "--no-fetch"])
    printed = capsys.readouterr().out
    assert "Bass_drum" in printed and "drums-a: GPL-2" in printed and "1 duplicate clips dropped" in printed
    summary = json.loads(out.read_text())
    kick = summary["classes"]["Bass_drum"]
    assert kick["files"] == 13 and kick["packages"] == ["drums-a", "drums-b"]
    assert kick["total_clips"] == sum(kick["clips"].values()) == 13


def test_split_units_cases():
    assert split_units("x", [["a"]]) == {("x", "a"): ("train",)}
    assert split_units("x", [["a", "b"], ["c"]]) == {
        ("x", "a"): ("train",),
        ("x", "b"): ("train",),
        ("x", "c"): ("validation", "test"),
    }
    three = split_units("x", [["a", "b", "c"]])
    assert three[("x", "b")] == ("validation", "test") and three[("x", "a")] == ("train",)


def gus_patch_bytes(waves) -> bytes:
    """A minimal GUS patch with the given (int16 samples, loop) waves."""
    header = b"GF1PATCH110\x00ID#000002\x00".ljust(82, b"\x00") + struct.pack("<BBBH", 1, 14, 0, len(waves))
    body = header.ljust(129, b"\x00") + bytes(63) + bytes(47)
    for samples, loop in waves:
        raw = samples.astype("<i2").tobytes()
        wave = bytearray(96)
        wave[0:7] = b"wave\x00\x00\x00"
        struct.pack_into("<III", wave, 8, len(raw), 2 * loop[0], 2 * loop[1])
        struct.pack_into("<H", wave, 20, 22050)
        struct.pack_into("<I", wave, 30, 440000)
        wave[55] = 0x01 | 0x04  # 16-bit, looping
        body += bytes(wave) + raw
    return body


def test_gus_patch_reader_and_sustained_notes():
    samples = (np.sin(np.arange(2205) / 5) * 20000).astype(np.int16)
    waves = read_gus_patch(gus_patch_bytes([(samples, (1000, 2000)), (samples[:500], (100, 400))]))
    assert len(waves) == 2 and waves[0].sample_rate == 22050 and waves[0].root_hz == 440.0
    np.testing.assert_allclose(waves[0].audio, samples / 32768, atol=1e-6)
    note = waves[1].note(1.0)
    assert len(note) == 22050 and np.allclose(note[100:400], note[400:700])
    with pytest.raises(ValueError, match="not a GUS patch"):
        read_gus_patch(b"RIFF....", name="x.pat")
    with pytest.raises(ValueError, match="truncated"):
        read_gus_patch(gus_patch_bytes([(samples, (0, 10))])[:-100], name="x.pat")


class FakeSource(ClipSource):
    def __init__(self, name, clips, per_class=None):
        self.name, self._clips = name, clips
        self.class_names = tuple(sorted({c.label for c in clips if c.label}))
        if per_class is not None:
            self.clips_per_class = {"train": per_class}

    def iter_clips(self, split, role):
        yield from (c for c in self._clips if (c.label is None) == (role == BACKGROUND))

    def card_section(self):
        return f"- {self.name}\n"


def test_rendered_and_real_repeats_real_training_clips_towards_half():
    audio = np.sin(np.arange(800, dtype=np.float32) / 7)
    rendered = FakeSource("rendered", [Clip(f"r{i}", "Trumpet", audio, "gm") for i in range(8)], per_class=8)
    real = FakeSource("real", [Clip("t0", "Trumpet", audio, "deb"), Clip("l0", "Laughter", audio, "deb")])
    mixed = RenderedAndRealSource(rendered, real, max_real_repeats=4)
    assert mixed.class_names == ("Laughter", "Trumpet")  # FSDKaggle2018 order
    clips = {c.clip_id: c.audio for c in mixed.iter_clips("train", FOREGROUND)}
    train = list(clips)
    assert len(clips["t0~1"]) != len(clips["t0"]) or not np.array_equal(clips["t0~1"], clips["t0"])
    assert train.count("t0") == 1 and {"t0~1", "t0~2", "t0~3"} <= set(train) and "t0~4" not in train
    assert [c for c in train if c.startswith("l0")] == ["l0"]
    test = [c.clip_id for c in mixed.iter_clips("test", FOREGROUND)]
    assert test.count("t0") == 1 and not any("~" in c for c in test)
    assert "- rendered" in mixed.card_section() and "repeated up to 4 times" in mixed.card_section()
    with pytest.raises(ValueError, match="max_real_repeats"):
        RenderedAndRealSource(rendered, real, max_real_repeats=0)
