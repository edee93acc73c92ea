"""The card of a published evaluation dataset: the build's own card (`qrtse.training.dataset_card`),
adapted to what the Hub repository holds (which splits, audio or recipes only, how to load it)."""

from huggingface_hub import DatasetCard

from qrtse.training.dataset_card import RECIPES_ONLY_WARNING
from qrtse.training.frozen_split import AUDIO_COLUMNS

RECIPES_ONLY_NOTE = """\
> **Recipes only.** The rendered audio is not redistributed here (see the licences below): this
> repository holds no `{columns}` columns, and each row keeps its recipe (clip ids, onsets,
> offsets, gains, SNRs). Anyone holding the original datasets rebuilds every
> mixture bit-exactly with `qrtse.training.frozen_split.rebuild_mixture(row, foreground_pool, background_pool)`.

"""

LOAD_AUDIO = """\
```python
import io
import soundfile as sf
from datasets import load_dataset

test = load_dataset("{repo_id}", split="{split}")
row = test[0]
mixture, rate = sf.read(io.BytesIO(row["mixture"]["bytes"]), dtype="float32")  # mono, 16 kHz
stems, _ = sf.read(io.BytesIO(row["stems"]["bytes"]), dtype="float32")        # (T, slots + background)
names = test.features["stem_labels"].feature.names
present = [names[i] for i in row["stem_labels"] if i >= 0]
```"""

LOAD_RECIPES = """\
```python
from datasets import load_dataset

test = load_dataset("{repo_id}", split="{split}")
recipe = test[0]["recipe"]  # events (label, clip_id, onset, clip_offset, length, snr_db, gain) and background
```"""


def published_card(build_card: str, repo_id: str, split_sizes: dict, recipes_only: bool) -> str:
    """`build_card` (the build folder's README.md) for a repository holding `split_sizes`
    ({split: rows}), with or without audio."""
    card = DatasetCard(build_card)
    # Point the loader only at the splits this repository holds.
    card.data.configs = [
        {"config_name": "default", "data_files": [{"split": s, "path": f"data/{s}-*"} for s in split_sizes]}
    ]
    text = card.text
    columns = "`, `".join(AUDIO_COLUMNS)
    note = RECIPES_ONLY_NOTE.format(columns=columns) if recipes_only else ""
    warning = RECIPES_ONLY_WARNING.format(columns=columns)
    if warning in text:
        text = text.replace(warning, note)  # the builder's "do not publish" becomes "not published"
    elif note:
        title_end = text.find("\n", text.find("# ")) + 1
        text = text[:title_end] + "\n" + note.rstrip("\n") + "\n" + text[title_end:]
    # The build's "Files" section describes the build folder; describe the repository instead.
    text = text.split("\n## Files", 1)[0].rstrip() + "\n"
    split = "test" if "test" in split_sizes else next(iter(split_sizes))
    rows = ", ".join(f"`{s}` ({n} mixtures)" for s, n in split_sizes.items())
    loader = (LOAD_RECIPES if recipes_only else LOAD_AUDIO).format(repo_id=repo_id, split=split)
    text += f"""
## This repository

Splits {rows}, as parquet under `data/`{", without audio" if recipes_only else ""}.

{loader}
"""
    return f"---\n{card.data.to_yaml()}\n---\n{text}"
