"""The README.md (Hub dataset card) written next to a build: sources, licences, recipe, schema."""

from .frozen_split import AUDIO_COLUMNS

HEADER = """\
---
license: other
pretty_name: qrtse target sound extraction mixtures ({source})
task_categories:
- audio-to-audio
tags:
- target-sound-extraction
- source-separation
- audio
configs:
- config_name: default
  data_files:
{data_files}
---
"""

BODY = """\
# qrtse mixtures: `{source}` source

Mixtures for target sound extraction with class-label queries, made as in Section 4.1 of
*Context-Aware Query Refinement for Target Sound Extraction: Handling Partially Matched
Queries* (Sato et al.): each mixture holds {min_sources}-{max_sources} distinct foreground
classes and one background, lasts {duration:g} s at {sample_rate} Hz, and each foreground event has
an SNR drawn from U({snr_low:g}, {snr_high:g}) dB.

**SNR convention:** per event, relative to the background: mean power of the event over its
own samples (clips are trimmed of leading/trailing silence) over the mean power of the
background over the whole mixture. The mixture is then scaled to a peak drawn from
U({peak_low:g}, {peak_high:g}).

{warning}## Splits

| split | mixtures |
|---|---|
{split_rows}

Training uses dynamic mixing from the stored train clip pool (`clips/train`,
`qrtse.training.dynamic_dataset.DynamicMixtureDataset`); the build records
{num_train} training mixtures per epoch. Built with seed {seed}: the same command gives
byte-identical splits.

## Sources and licences

{sources}
## Classes ({num_classes})

{classes}

## Schema

| column | type | content |
|---|---|---|
| `mixture_id` | string | `<split>-<index>` |
| `mixture` | `Audio(decode=False)` | mono FLAC, PCM_16 |
| `stems` | `Audio(decode=False)` | FLAC, PCM_16, {num_channels} channels: slots 0-{last_slot}, background |
| `stem_labels` | {max_sources} x `ClassLabel` | class of each slot, -1 = unused |
| `presence` | list of {num_classes} float32 | multi-hot of the classes present |
| `num_sources` | int64 | number of foreground classes |
| `recipe` | struct | events and background (clip ids, offsets, gains, SNRs): rebuilds the mixture |

A foreground slot holds all events of one class (silent if unused). Decoded,
`mixture == stems[:-1].sum(0) + stems[-1]` holds exactly: every stem is on the 16-bit
grid and the mixture is their sum. The class names are stored in the features
(`dataset.features["stem_labels"].feature.names`).

```python
from qrtse.training.frozen_split import load_frozen_split, decode_mixture
test = load_frozen_split("{output}", "test")   # or datasets.load_dataset("parquet", ...)
row = decode_mixture(test[0])                   # numpy: mixture, stems, background, stem_labels, presence
```

Evaluation queries (FMQ 1:0, PMQ 1:k, FUQ 0:1) come from `qrtse.training.query_conditions.make_query`, seeded,
with inactive classes drawn from the classes absent from the mixture.

## Files

- `data/<split>-*.parquet`: the frozen splits (this card's `configs`).
- `mixtures/`: the same, `datasets.save_to_disk` format.
- `clips/`: the clip pools (train / validation / test; 16-bit FLAC clips with ids, labels and provenance).
"""

RECIPES_ONLY_WARNING = """\
> **Do not publish the audio of this build** unless you may redistribute every source clip: a
> source's licence forbids it or is unknown to the builder (see below). Publish the recipes instead:
> `qrtse.training.frozen_split.recipes_only(dataset)` drops the `{columns}` columns; anyone holding
> the original datasets rebuilds every mixture bit-exactly with
> `qrtse.training.frozen_split.rebuild_mixture`.

"""


def dataset_card(source, split_sizes: dict, num_train: int, seed: int, config, output) -> str:
    """The card's text for a build of `source` (a `ClipSource`) with `split_sizes` frozen mixtures."""
    data_files = "\n".join(f"  - split: {split}\n    path: data/{split}-*.parquet" for split in split_sizes)
    warning = "" if source.audio_redistributable else RECIPES_ONLY_WARNING.format(columns="`, `".join(AUDIO_COLUMNS))
    return HEADER.format(source=source.name, data_files=data_files) + BODY.format(
        source=source.name,
        min_sources=config.min_sources,
        max_sources=config.max_sources,
        duration=config.duration_s,
        sample_rate=config.sample_rate,
        snr_low=config.snr_db_range[0],
        snr_high=config.snr_db_range[1],
        peak_low=config.peak_range[0],
        peak_high=config.peak_range[1],
        warning=warning,
        split_rows="\n".join(f"| {split} | {size} |" for split, size in split_sizes.items()),
        num_train=num_train,
        seed=seed,
        sources=source.card_section(),
        num_classes=len(source.class_names),
        classes=", ".join(f"`{name}`" for name in source.class_names),
        num_channels=config.max_sources + 1,
        last_slot=config.max_sources - 1,
        output=output,
    )
