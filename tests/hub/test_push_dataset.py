"""Which builds publish audio, and how the build's card is adapted to the published repository."""

import json

import pytest
from huggingface_hub import DatasetCard

from qrtse.hub.dataset_card_publish import published_card
from qrtse.hub.push_dataset import publishes_audio
from qrtse.training.dataset_card import RECIPES_ONLY_WARNING

BUILD_CARD = f"""---
license: other
configs:
- config_name: default
  data_files:
  - split: validation
    path: data/validation-*.parquet
  - split: test
    path: data/test-*.parquet
---
# qrtse mixtures: `fsd-tau` source

{RECIPES_ONLY_WARNING.format(columns="mixture`, `stems")}Mixtures for target sound extraction.

## Files

- `clips/`: the clip pools.
"""


def write_info(folder, **info):
    (folder / "build_info.json").write_text(json.dumps(info))
    return folder


@pytest.mark.parametrize(
    "info, recipes_only, include_audio, expected",
    [
        ({"source": "builtin", "audio_redistributable": True}, False, False, True),
        ({"source": "builtin", "audio_redistributable": True}, True, False, False),
        ({"source": "fsd-tau", "audio_redistributable": False}, False, False, False),
        ({"source": "folder", "audio_redistributable": False}, False, False, False),  # licence unknown
        ({"source": "folder", "audio_redistributable": False}, False, True, True),  # the publisher vouches
        ({"source": "hf-dataset"}, False, False, False),
        (None, False, False, False),  # no build_info.json: recipes only
    ],
)
def test_which_builds_publish_audio(tmp_path, info, recipes_only, include_audio, expected):
    if info is not None:
        write_info(tmp_path, **info)
    assert publishes_audio(tmp_path, recipes_only, include_audio) is expected


def test_tau_audio_is_never_published(tmp_path):
    write_info(tmp_path, source="fsd-tau", audio_redistributable=False)
    with pytest.raises(ValueError, match="forbids"):
        publishes_audio(tmp_path, include_audio=True)


def test_recipes_only_card_says_what_is_missing_and_lists_published_splits():
    card = DatasetCard(published_card(BUILD_CARD, "user/recipes", {"test": 3}, recipes_only=True))
    assert card.data.configs == [{"config_name": "default", "data_files": [{"split": "test", "path": "data/test-*"}]}]
    assert "Recipes only" in card.text and "Do not publish" not in card.text
    assert "## Files" not in card.text and "clips/" not in card.text
    assert 'load_dataset("user/recipes", split="test")' in card.text and "recipe" in card.text


def test_audio_card_shows_how_to_decode():
    card = DatasetCard(
        published_card(
            BUILD_CARD.replace(RECIPES_ONLY_WARNING.format(columns="mixture`, `stems"), ""),
            "user/mix",
            {"validation": 2, "test": 3},
            recipes_only=False,
        )
    )
    assert "Recipes only" not in card.text and 'row["mixture"]["bytes"]' in card.text
    assert [f["split"] for f in card.data.configs[0]["data_files"]] == ["validation", "test"]
