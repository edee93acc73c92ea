"""Frozen validation and test mixtures as `datasets.Dataset`s (paper Section 4.1: 5k / 10k).

Schema of one row (`mixture_features`):

    mixture_id    string                          "<split>-<index:06d>"
    mixture       Audio(16000, decode=False)      mono FLAC, PCM_16
    stems         Audio(16000, decode=False)      FLAC, PCM_16, max_sources + 1 channels:
                                                  channel i < max_sources = foreground slot i
                                                  (all events of class stem_labels[i]; silent
                                                  if unused), last channel = background
    stem_labels   List(ClassLabel, length=5)      class of each slot, -1 = unused
    presence      List(float32, length=C)         multi-hot of the classes in the mixture
    num_sources   int64                           3-5
    recipe        struct                          how to rebuild the row from the clip pools:
        events: list of {label, clip_id, onset, clip_offset, length, snr_db, gain}
        background_clip_id, background_offset, background_gain, num_samples

Decoded, `mixture == stems[:-1].sum() + stems[-1]` exactly (see `qrtse.training.mixing`). The class
vocabulary travels in the features (`class_names_of(dataset)`).

Each mixture is drawn from its own generator seeded by (seed, split, index), so a split is
byte-identical for the same arguments and independent of how many workers build it.
"""

import multiprocessing
from pathlib import Path

import numpy as np
from datasets import Audio, ClassLabel, Dataset, DatasetDict, Features, List, Value, load_from_disk
from tqdm.auto import tqdm

from .arrow_io import save_dataset_dict, stable_fingerprint
from .audio_io import SAMPLE_RATE, decode_audio, encode_flac
from .mixing import DEFAULT_MIXING, MixingConfig, MixtureEvent, MixtureRecipe, mix, presence_vector, render_recipe

SPLIT_CODES = {"train": 0, "validation": 1, "test": 2}
AUDIO_COLUMNS = ("mixture", "stems")


def mixture_features(class_names, max_sources: int = 5) -> Features:
    labels = ClassLabel(names=list(class_names))
    event = {
        "label": labels,
        "clip_id": Value("string"),
        "onset": Value("int64"),
        "clip_offset": Value("int64"),
        "length": Value("int64"),
        "snr_db": Value("float64"),
        "gain": Value("float64"),
    }
    return Features(
        {
            "mixture_id": Value("string"),
            "mixture": Audio(sampling_rate=SAMPLE_RATE, decode=False),
            "stems": Audio(sampling_rate=SAMPLE_RATE, decode=False),
            "stem_labels": List(labels, length=max_sources),
            "presence": List(Value("float32"), length=len(class_names)),
            "num_sources": Value("int64"),
            "recipe": {
                "events": List(event),
                "background_clip_id": Value("string"),
                "background_offset": Value("int64"),
                "background_gain": Value("float64"),
                "num_samples": Value("int64"),
            },
        }
    )


def class_names_of(dataset) -> tuple:
    """The class vocabulary stored in a frozen split's features."""
    return tuple(dataset.features["stem_labels"].feature.names)


def mixture_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of mixture `index` of `split`: independent of every other mixture."""
    return np.random.default_rng([seed, SPLIT_CODES[split], index])


def mixture_example(split, index, seed, foreground, background, class_names, config: MixingConfig) -> dict:
    """Draw, render and encode one frozen-split row."""
    recipe, rendered = mix(mixture_rng(seed, split, index), foreground, background, config)
    mixture_id = f"{split}-{index:06d}"
    stems_and_background = np.concatenate([rendered.stems_pcm, rendered.background_pcm[None]], axis=0).T
    return {
        "mixture_id": mixture_id,
        "mixture": {"bytes": encode_flac(rendered.mixture_pcm), "path": f"{mixture_id}.flac"},
        "stems": {"bytes": encode_flac(np.ascontiguousarray(stems_and_background)), "path": f"{mixture_id}-stems.flac"},
        "stem_labels": rendered.stem_labels.tolist(),
        "presence": presence_vector(rendered.stem_labels, len(class_names)).tolist(),
        "num_sources": len(recipe.events),
        "recipe": {
            "events": [
                {
                    "label": e.label,
                    "clip_id": foreground.clip_ids[e.clip_index],
                    "onset": e.onset,
                    "clip_offset": e.clip_offset,
                    "length": e.length,
                    "snr_db": e.snr_db,
                    "gain": e.gain,
                }
                for e in recipe.events
            ],
            "background_clip_id": background.clip_ids[recipe.background_index],
            "background_offset": recipe.background_offset,
            "background_gain": recipe.background_gain,
            "num_samples": recipe.num_samples,
        },
    }


_WORKER_ARGS = None


def _worker_example(index):
    return mixture_example(_WORKER_ARGS[0], index, *_WORKER_ARGS[1:])


def iter_mixture_examples(
    split, num_mixtures, seed, foreground, background, class_names, config=DEFAULT_MIXING, num_workers=1, progress=True
):
    """Yield the rows of a frozen split in index order, rendering with `num_workers` processes."""
    indices = range(num_mixtures)
    bar = {"total": num_mixtures, "desc": f"{split} mixtures", "unit": "mix", "disable": not progress}
    if num_workers <= 1:
        for index in tqdm(indices, **bar):
            yield mixture_example(split, index, seed, foreground, background, class_names, config)
        return
    global _WORKER_ARGS
    # Workers are forked so they inherit the (memory-mapped) clip pools instead of pickling them.
    _WORKER_ARGS = (split, seed, foreground, background, class_names, config)
    try:
        with multiprocessing.get_context("fork").Pool(num_workers) as pool:
            yield from tqdm(pool.imap(_worker_example, indices, chunksize=8), **bar)
    finally:
        _WORKER_ARGS = None


def save_frozen_splits(
    split_examples: dict, class_names, output_dir, fingerprint: str, config=DEFAULT_MIXING, parquet: bool = True
):
    """Save frozen splits to `<output_dir>/mixtures` (save_to_disk) and, with `parquet`, to
    `<output_dir>/data/<split>-00000-of-00001.parquet` (the layout the dataset card's configs name)."""
    output_dir = Path(output_dir)
    features = mixture_features(class_names, config.max_sources)
    description = "Frozen qrtse mixtures (paper Section 4.1). See README.md."
    splits = save_dataset_dict(
        split_examples, features, output_dir / "mixtures", stable_fingerprint("mixtures", fingerprint), description
    )
    if parquet:
        (output_dir / "data").mkdir(parents=True, exist_ok=True)
        for split, dataset in splits.items():
            dataset.to_parquet(str(output_dir / "data" / f"{split}-00000-of-00001.parquet"))
    return splits


def load_frozen_split(path, split: str | None = None) -> Dataset:
    """Load a frozen split from a build folder (`path` + `split`), a `mixtures` DatasetDict folder
    (+ `split`), one split's `save_to_disk` folder, or a parquet file."""
    path = Path(path)
    if path.suffix == ".parquet":
        return Dataset.from_parquet(str(path))
    if (path / "dataset_info.json").is_file():
        return load_from_disk(str(path))
    for folder in (path, path / "mixtures"):
        if (folder / "dataset_dict.json").is_file():
            splits = DatasetDict.load_from_disk(str(folder))
            if split not in splits:
                raise ValueError(f"{folder} holds splits {list(splits)}; pass split= one of them, got {split!r}")
            return splits[split]
    raise FileNotFoundError(f"no frozen split found at {path}")


def decode_mixture(example) -> dict:
    """numpy arrays of one row: `mixture` (T,), `stems` (max_sources, T), `background` (T,),
    `stem_labels` (max_sources,) int64, `presence` (C,) float32, all float32 audio exactly k/32768."""
    mixture, sample_rate = decode_audio(example["mixture"]["bytes"])
    stems_and_background, _ = decode_audio(example["stems"]["bytes"])
    return {
        "mixture": mixture,
        "stems": np.ascontiguousarray(stems_and_background[:, :-1].T),
        "background": np.ascontiguousarray(stems_and_background[:, -1]),
        "stem_labels": np.asarray(example["stem_labels"], dtype=np.int64),
        "presence": np.asarray(example["presence"], dtype=np.float32),
        "sample_rate": sample_rate,
    }


def recipe_of(example, foreground, background) -> MixtureRecipe:
    """The `MixtureRecipe` of a row, with clip ids resolved in the given pools."""
    recipe = example["recipe"]
    events = tuple(
        MixtureEvent(
            label=e["label"],
            clip_index=foreground.index_of(e["clip_id"]),
            onset=e["onset"],
            clip_offset=e["clip_offset"],
            length=e["length"],
            snr_db=e["snr_db"],
            gain=e["gain"],
        )
        for e in recipe["events"]
    )
    return MixtureRecipe(
        events=events,
        background_index=background.index_of(recipe["background_clip_id"]),
        background_offset=recipe["background_offset"],
        background_gain=recipe["background_gain"],
        num_samples=recipe["num_samples"],
    )


def rebuild_mixture(example, foreground, background, max_sources: int = 5):
    """Re-render a row from its recipe and the clip pools (e.g. after `recipes_only`): a
    `RenderedMixture` bit-identical to the stored audio."""
    return render_recipe(recipe_of(example, foreground, background), foreground, background, max_sources)


def recipes_only(dataset: Dataset) -> Dataset:
    """The split without its audio columns: what may be published when a source's licence forbids
    redistributing renders (TAU)."""
    return dataset.remove_columns(list(AUDIO_COLUMNS))
