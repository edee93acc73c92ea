import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from qrtse.training.build_dataset import build, main


def _digests(folder: Path, parts=("clips", "mixtures", "data")) -> dict:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for part in parts
        for path in sorted((folder / part).rglob("*"))
        if path.is_file()
    }


@pytest.mark.slow
def test_same_seed_gives_byte_identical_splits_other_seed_differs(toy_builtin_build, toy_arguments, tmp_path):
    again = build(*toy_arguments(tmp_path / "again"))
    reference = _digests(toy_builtin_build)
    assert any(name.endswith(".parquet") for name in reference) and any(name.endswith(".arrow") for name in reference)
    assert _digests(again) == reference
    other = build(*toy_arguments(tmp_path / "other", seed=1))
    other_digests = _digests(other)
    assert other_digests.keys() == reference.keys()
    for name in reference:
        if name.endswith((".arrow", ".parquet")):
            assert other_digests[name] != reference[name], name


def test_build_writes_card_and_info(toy_builtin_build):
    card = (toy_builtin_build / "README.md").read_text()
    assert card.startswith("---\n") and "path: data/test-*.parquet" in card
    for needle in ("TimGM6mb", "GPL-2", "CC0", "keebsound", "espeak-ng", "U(15, 25) dB", "`Telephone`"):
        assert needle in card, needle
    assert "Do not publish" not in card
    info = json.loads((toy_builtin_build / "build_info.json").read_text())
    assert info["source"] == "builtin" and len(info["class_names"]) == 24 and info["train_mixtures_per_epoch"] == 16


def test_missing_source_arguments_are_clear(tmp_path):
    with pytest.raises(SystemExit, match="--fsd-root and --tau-root"):
        main(["--source", "fsd-tau", "--output", str(tmp_path / "x")])
    with pytest.raises(SystemExit, match="unknown --source"):
        main(["--source", "nope", "--output", str(tmp_path / "x")])


@pytest.mark.slow
def test_command_line(tmp_path):
    output = tmp_path / "cli"
    command = [
        sys.executable,
        "-m",
        "qrtse.training.build_dataset",
        "--source",
        "builtin",
        "--output",
        str(output),
        "--num-validation",
        "2",
        "--num-test",
        "2",
        "--clips-per-class-train",
        "1",
        "--clips-per-class-validation",
        "1",
        "--clips-per-class-test",
        "1",
        "--backgrounds-train",
        "1",
        "--backgrounds-validation",
        "1",
        "--backgrounds-test",
        "1",
        "--background-seconds",
        "2",
        "--no-progress",
    ]
    subprocess.run(command, check=True, cwd=Path(__file__).parents[2], capture_output=True)
    assert (output / "README.md").is_file() and (output / "data" / "test-00000-of-00001.parquet").is_file()


# sha256 of the toy v1 built-in build's test split, as the code before the real-recordings corpus
# wrote it: the v1 test split must stay buildable byte for byte so that results stay comparable.
V1_TOY_TEST_SPLIT = {
    "data/test-00000-of-00001.parquet": "80b5746df09becfbe6f4799b44e03996cb19d506c4774ecb845967aadb1a157b",
    "mixtures/test/data-00000-of-00001.arrow": "2042a162081d0261088aa11dfc4c155fd75b16ba49376043f35ea196566b4e2f",
}


def test_v1_builtin_test_split_is_unchanged_byte_for_byte(toy_builtin_build):
    digests = _digests(toy_builtin_build)
    assert {name: digests[name] for name in V1_TOY_TEST_SPLIT} == V1_TOY_TEST_SPLIT
