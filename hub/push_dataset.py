"""Publish the frozen evaluation splits of a build as a Hub dataset repository.

    python -m qrtse.hub.push_dataset --build data/builtin --repo-id user/qrtse-builtin-mixtures [--splits test]

The splits come from `qrtse.training.build_dataset`'s output (`<build>/mixtures`), the card from its
README.md (adapted by `qrtse.hub.dataset_card_publish`). Only the recipes are published
(`qrtse.training.frozen_split.recipes_only`) when the source's licence forbids redistributing rendered
audio (FSDKaggle2018 + TAU: TAU is non-commercial) or the builder cannot know it (your own
folders or datasets: pass `--include-audio` if you may redistribute every clip); `--recipes-only`
forces recipes for any build. Load it back with `datasets.load_dataset("user/qrtse-builtin-mixtures")`.
"""

import argparse
import json
import sys
from pathlib import Path

from datasets import DatasetDict, load_from_disk
from huggingface_hub import HfApi

from modeling_qrtse.cli.models import exit_status
from qrtse.training.frozen_split import load_frozen_split, recipes_only

from .dataset_card_publish import published_card
from .training_data import training_data

FALLBACK_CARD = "---\nlicense: other\ntask_categories:\n- audio-to-audio\n---\n# qrtse mixtures\n\nBuilt by `qrtse.training.build_dataset`.\n"


def build_splits(build: Path) -> list:
    """The frozen splits a build holds, in the builder's order."""
    folder = build / "mixtures"
    if not (folder / "dataset_dict.json").is_file():
        raise FileNotFoundError(
            f"{build} has no frozen splits (mixtures/dataset_dict.json): build it with qrtse.training.build_dataset"
        )
    return list(load_from_disk(str(folder)).keys())


def publishes_audio(build: Path, recipes_only_requested: bool = False, include_audio: bool = False) -> bool:
    """Whether the rendered audio of `build` is published: yes when its source allows it; never when
    the source's licence forbids it (TAU); for sources whose licence the builder cannot know (your
    own folders), only when the publisher says so with `include_audio`."""
    info_path = build / "build_info.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    data = training_data(info.get("source"))
    if data.audio == "forbidden" and include_audio:
        raise ValueError(f"the licence of the {info['source']!r} source forbids publishing its audio: publish recipes")
    if recipes_only_requested or data.audio == "forbidden":
        return False
    return bool(info.get("audio_redistributable", data.audio_redistributable)) or include_audio


def push_dataset(build, repo_id, splits=None, force_recipes_only=False, private=False, include_audio=False) -> str:
    """Upload the card, then the splits (datasets adds its `dataset_info` to the card). Returns the
    repository URL."""
    build = Path(build)
    splits = splits or build_splits(build)
    with_audio = publishes_audio(build, force_recipes_only, include_audio)
    datasets = DatasetDict()
    for split in splits:
        dataset = load_frozen_split(build, split)
        datasets[split] = dataset if with_audio else recipes_only(dataset)
    card_path = build / "README.md"
    build_card = card_path.read_text() if card_path.is_file() else FALLBACK_CARD
    card = published_card(build_card, repo_id, {s: len(d) for s, d in datasets.items()}, not with_audio)
    api = HfApi()
    url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    # The card goes first: push_to_hub keeps an existing card's text and merges its metadata into it.
    api.upload_file(
        path_or_fileobj=card.encode(),
        path_in_repo="README.md",
        repo_id=repo_id,
        repo_type="dataset",
        commit_message="Dataset card",
    )
    datasets.push_to_hub(
        repo_id, private=private, commit_message="Frozen evaluation splits" + ("" if with_audio else " (recipes only)")
    )
    return str(url)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True, help="output folder of qrtse.training.build_dataset")
    parser.add_argument("--repo-id", required=True, help="namespace/name of the dataset repository")
    parser.add_argument("--splits", nargs="+", help="splits to publish (default: all frozen splits of the build)")
    audio = parser.add_mutually_exclusive_group()
    audio.add_argument("--recipes-only", action="store_true", help="publish recipes without audio, whatever the source")
    audio.add_argument(
        "--include-audio",
        action="store_true",
        help="publish the audio of a folder / HF-dataset build: you confirm every clip may be redistributed",
    )
    parser.add_argument("--private", action="store_true", help="create the repository private")
    args = parser.parse_args(argv)

    def run():
        if not (Path(args.build) / "build_info.json").is_file():
            raise ValueError(f"--build {args.build} is not an output folder of qrtse.training.build_dataset")
        url = push_dataset(args.build, args.repo_id, args.splits, args.recipes_only, args.private, args.include_audio)
        print(f"Published {args.repo_id}: {url}")

    return exit_status("qrtse.hub.push_dataset", run)


if __name__ == "__main__":
    sys.exit(main())
