"""Stored clip pools: every clip of a source as a `datasets.DatasetDict` of 16-bit FLAC clips.

Layout (`<output>/clips`, one split per folder):

    clip_id      string                    stable id, referenced by mixture recipes
    role         ClassLabel(foreground, background)
    label        ClassLabel(<vocabulary>)  -1 for backgrounds
    num_samples  int64                     at 16 kHz
    source       string                    provenance (dataset card)
    audio        Audio(16000, decode=False) mono FLAC, PCM_16

Clips are stored once, trimmed (foregrounds), peak-normalised and on the 16-bit grid, so that
a mixture rendered from the stored clips is bit-identical to one rendered while building.
The train split feeds `DynamicMixtureDataset`; validation/test rebuild frozen mixtures.
"""

import hashlib
import logging
from pathlib import Path

import numpy as np
from datasets import Audio, ClassLabel, DatasetDict, Features, Value
from tqdm.auto import tqdm

from .arrow_io import save_dataset_dict, stable_fingerprint
from .audio_io import SAMPLE_RATE, check_clip, encode_flac, normalize_peak, quantize_pcm16
from .clip_pool import BACKGROUND, FOREGROUND, ROLES, ArrowClipPool
from .sources.base import SPLITS, check_label

logger = logging.getLogger(__name__)

# Foreground clips lose leading/trailing samples quieter than this (relative to their peak),
# so that the SNR is measured over the sound itself (see qrtse.training.mixing).
TRIM_THRESHOLD_DB = -50.0
TRIM_MARGIN_S = 0.01


def clip_features(class_names) -> Features:
    return Features(
        {
            "clip_id": Value("string"),
            "role": ClassLabel(names=list(ROLES)),
            "label": ClassLabel(names=list(class_names)),
            "num_samples": Value("int64"),
            "source": Value("string"),
            "audio": Audio(sampling_rate=SAMPLE_RATE, decode=False),
        }
    )


def trim_silence(audio: np.ndarray, threshold_db: float = TRIM_THRESHOLD_DB, margin_s: float = TRIM_MARGIN_S):
    """Drop leading and trailing samples below `threshold_db` of the peak, keeping a margin."""
    loud = np.flatnonzero(np.abs(audio) >= np.max(np.abs(audio)) * 10 ** (threshold_db / 20))
    margin = int(margin_s * SAMPLE_RATE)
    return audio[max(0, loud[0] - margin) : loud[-1] + margin + 1]


def prepare_clip(audio: np.ndarray, role: str, name) -> np.ndarray:
    """The int16 samples stored for a clip, or None (with a warning) if nothing usable is left."""
    audio = check_clip(np.asarray(audio, dtype=np.float32), name)
    if audio is None:
        return None
    if role == FOREGROUND:
        audio = trim_silence(audio)
    # check_clip has already rejected clips with no sample above one 16-bit step.
    return quantize_pcm16(normalize_peak(audio))


def _examples(source, split: str, role: str, seen_hashes: dict, progress: bool):
    """Yield stored examples of one split/role, skipping bad clips and exact duplicates."""
    class_names = source.class_names
    clips = source.iter_clips(split, role)
    total = source.num_clips(split, role)
    for clip in tqdm(clips, total=total, desc=f"{source.name} {split} {role}", disable=not progress, unit="clip"):
        if role == FOREGROUND:
            check_label(clip.label, class_names, clip.clip_id)
        pcm = prepare_clip(clip.audio, role, clip.clip_id)
        if pcm is None:
            continue
        digest = hashlib.sha1(pcm.tobytes()).hexdigest()
        if digest in seen_hashes:
            # The same audio in two pools would leak test material into training.
            logger.warning("Skipping clip %s: identical audio to clip %s", clip.clip_id, seen_hashes[digest])
            continue
        seen_hashes[digest] = clip.clip_id
        yield {
            "clip_id": clip.clip_id,
            "role": role,
            "label": class_names.index(clip.label) if role == FOREGROUND else -1,
            "num_samples": len(pcm),
            "source": clip.source,
            "audio": {"bytes": encode_flac(pcm), "path": f"{clip.clip_id.replace('/', '_')}.flac"},
        }


def build_clip_dataset(source, output_dir, fingerprint: str = "", progress: bool = True) -> DatasetDict:
    """Store all clips of `source` (splits train, validation, test) at `output_dir`."""
    seen_hashes = {}

    def split_examples(split):
        for role in (FOREGROUND, BACKGROUND):
            yield from _examples(source, split, role, seen_hashes, progress)

    description = f"Clip pools of the '{source.name}' source for qrtse mixtures (16 kHz, PCM_16 FLAC)."
    return save_dataset_dict(
        {split: split_examples(split) for split in SPLITS},
        clip_features(source.class_names),
        output_dir,
        stable_fingerprint("clips", source.name, fingerprint),
        description,
    )


def load_clip_pools(clips_dir, split: str, preload: bool = False) -> tuple:
    """`(foreground ArrowClipPool, background ArrowClipPool, class_names)` of one stored split."""
    dataset = DatasetDict.load_from_disk(str(Path(clips_dir)))[split]
    foreground = ArrowClipPool(dataset, FOREGROUND, preload=preload)
    background = ArrowClipPool(dataset, BACKGROUND, preload=preload)
    return foreground, background, foreground.class_names
