"""Clip pools: the labelled foreground clips or unlabelled background clips of one split.

The mixer (`qrtse.training.mixing`) only needs, per clip, its class index (-1 for backgrounds), its
length and its samples. Pools live on disk as a `datasets.Dataset` of FLAC clips (see
`qrtse.training.clip_dataset`) and are decoded on demand, so a corpus of any size (TAU alone is 40 h)
mixes without being held in memory.
"""

import numpy as np

from .audio_io import decode_pcm16, pcm16_to_float

FOREGROUND = "foreground"
BACKGROUND = "background"
ROLES = (FOREGROUND, BACKGROUND)


class ClipPool:
    """Base class. Subclasses set `clip_ids` (list of str), `labels` (int64, -1 = unlabelled)
    and `lengths` (int64, samples) and implement `pcm(index)`."""

    clip_ids: list
    labels: np.ndarray
    lengths: np.ndarray

    def pcm(self, index: int) -> np.ndarray:
        """The clip's int16 samples."""
        raise NotImplementedError

    def clip(self, index: int) -> np.ndarray:
        """The clip as float32 `k / 32768`."""
        return pcm16_to_float(self.pcm(index))

    def __len__(self) -> int:
        return len(self.clip_ids)

    def classes(self) -> np.ndarray:
        """Sorted class indices with at least one clip."""
        return np.unique(self.labels[self.labels >= 0])

    def indices_of_class(self, label: int) -> np.ndarray:
        if not hasattr(self, "_by_class"):
            self._by_class = {int(c): np.flatnonzero(self.labels == c) for c in np.unique(self.labels)}
        return self._by_class.get(int(label), np.empty(0, dtype=np.int64))

    def index_of(self, clip_id: str) -> int:
        if not hasattr(self, "_by_id"):
            self._by_id = {cid: i for i, cid in enumerate(self.clip_ids)}
        try:
            return self._by_id[clip_id]
        except KeyError:
            raise KeyError(f"Clip {clip_id!r} is not in this pool") from None


class InMemoryClipPool(ClipPool):
    """A pool of int16 arrays held in memory (tests, small corpora)."""

    def __init__(self, clips, labels, clip_ids=None):
        self._clips = [np.asarray(c, dtype=np.int16) for c in clips]
        self.labels = np.asarray(labels, dtype=np.int64)
        self.lengths = np.array([len(c) for c in self._clips], dtype=np.int64)
        self.clip_ids = list(clip_ids) if clip_ids is not None else [f"clip-{i}" for i in range(len(self._clips))]
        if not (len(self.labels) == len(self._clips) == len(self.clip_ids)):
            raise ValueError("clips, labels and clip_ids must have the same length")

    def pcm(self, index: int) -> np.ndarray:
        return self._clips[index]


class ArrowClipPool(ClipPool):
    """The clips of one role in a clip dataset (see `qrtse.training.clip_dataset`), decoded on demand.

    Args:
        dataset (`datasets.Dataset`): one split of a clip dataset.
        role (`str`): `"foreground"` or `"background"`.
        preload (`bool`): decode every clip once up front (faster mixing, int16 in memory).
    """

    def __init__(self, dataset, role: str, preload: bool = False):
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        role_id = dataset.features["role"].str2int(role)
        roles = np.asarray(dataset["role"])
        self._rows = np.flatnonzero(roles == role_id)
        self.labels = np.asarray(dataset["label"], dtype=np.int64)[self._rows]
        self.lengths = np.asarray(dataset["num_samples"], dtype=np.int64)[self._rows]
        all_ids = dataset["clip_id"]
        self.clip_ids = [all_ids[int(r)] for r in self._rows]
        self.class_names = tuple(dataset.features["label"].names)
        self._audio = dataset.select_columns(["audio"])
        self._cache = [self._decode(i) for i in range(len(self._rows))] if preload else None

    def _decode(self, index: int) -> np.ndarray:
        pcm, _ = decode_pcm16(self._audio[int(self._rows[index])]["audio"]["bytes"])
        return pcm

    def pcm(self, index: int) -> np.ndarray:
        return self._cache[index] if self._cache is not None else self._decode(index)
