"""Turning what a user types into the model's multi-hot query q (paper Section 3.1, eq. 3).

A query names the classes to extract *together*: their sum is one target. Several query sets
extract several targets from one mixture in one pass (the model's `(batch, K, classes)` query).

These functions are the query encoder of `QrtseProcessor` (`processing_qrtse`): callers parse a
query through the processor, which holds the model's classes, not through them directly.
"""

import difflib
import re

import numpy as np
import torch

# Everyday words mapped to FSDKaggle2018 labels. Used only to *suggest* a label in an error
# message: "dog" -> "Bark" is obvious, but "drum" -> Bass_drum or Snare_drum is a choice the
# user should make, so nothing is mapped silently.
# fmt: off
SYNONYMS = {
    "dog": ("Bark",), "woof": ("Bark",), "barking": ("Bark",), "puppy": ("Bark",),
    "cat": ("Meow",), "kitten": ("Meow",), "miaow": ("Meow",), "meowing": ("Meow",),
    "guitar": ("Acoustic_guitar",), "clap": ("Applause",), "clapping": ("Applause",),
    "burp": ("Burping_or_eructation",), "piano": ("Electric_piano",), "keyboard": ("Computer_keyboard",),
    "typing": ("Computer_keyboard",), "violin": ("Violin_or_fiddle",), "fiddle": ("Violin_or_fiddle",),
    "drum": ("Bass_drum", "Snare_drum"), "kick": ("Bass_drum",), "snare": ("Snare_drum",),
    "cymbal": ("Hi-hat",), "hihat": ("Hi-hat",), "bell": ("Chime", "Cowbell", "Glockenspiel"),
    "gun": ("Gunshot_or_gunfire",), "gunshot": ("Gunshot_or_gunfire",), "shot": ("Gunshot_or_gunfire",),
    "explosion": ("Fireworks", "Gunshot_or_gunfire"), "phone": ("Telephone",), "ringtone": ("Telephone",),
    "laugh": ("Laughter",), "laughing": ("Laughter",), "coughing": ("Cough",), "knocking": ("Knock",),
    "door": ("Knock", "Drawer_open_or_close"), "drawer": ("Drawer_open_or_close",),
    "keys": ("Keys_jangling",), "snap": ("Finger_snapping",), "snapping": ("Finger_snapping",),
    "glass": ("Shatter",), "breaking": ("Shatter",), "paper": ("Tearing",), "ripping": ("Tearing",),
    "pen": ("Writing",), "pencil": ("Writing",), "microwave": ("Microwave_oven",), "sax": ("Saxophone",),
    "bass": ("Double_bass", "Bass_drum"), "contrabass": ("Double_bass",), "horn": ("Trumpet",),
    "trombone": ("Trumpet",), "whistle": ("Flute",), "recorder": ("Flute",),
    "vehicle": ("Bus",), "traffic": ("Bus",), "squeaking": ("Squeak",), "creak": ("Squeak",),
}
# fmt: on


def normalize_label(name: str) -> str:
    """Case, spaces, underscores and hyphens do not distinguish labels: "acoustic guitar" and
    "Acoustic_guitar" are the same class, as are "hi hat" and "Hi-hat"."""
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


def suggest_labels(name: str, labels, limit: int = 3) -> list:
    """Vocabulary labels close to an unknown `name`: synonyms first, then spelling neighbours."""
    key = normalize_label(name)
    vocabulary = {normalize_label(label): label for label in labels}
    suggestions = [label for label in SYNONYMS.get(key, ()) if label in set(labels)]
    # Also try the singular ("dogs" -> "dog") and each word of a phrase ("barking dog").
    for word in [key.rstrip("s")] + re.split(r"[\s_\-]+", name.strip().lower()):
        suggestions += [label for label in SYNONYMS.get(word, ()) if label in set(labels)]
    suggestions += [vocabulary[k] for k in difflib.get_close_matches(key, list(vocabulary), n=limit, cutoff=0.6)]
    suggestions += [label for k, label in vocabulary.items() if len(key) >= 3 and key in k]
    return list(dict.fromkeys(suggestions))[:limit]


def _checked_index(index: int, num_labels: int) -> int:
    if not 0 <= index < num_labels:
        raise ValueError(
            f"class index {index} is out of range: the model has {num_labels} classes (0-{num_labels - 1})"
        )
    return index


def label_to_index(name, label2id: dict) -> int:
    """Index of one class given by name (normalised, see `normalize_label`) or by index: an
    integer, or a string of digits such as "18" (what a command line passes). A label that is
    itself a string of digits is read as that label.

    Raises `ValueError` for an unknown name (listing close matches) or an index out of range."""
    num_labels = len(label2id)
    if isinstance(name, (bool, np.bool_)):
        raise ValueError(f"query entries must be label names or class indices, got {name!r}")  # noqa: TRY004 (every bad query is a ValueError for callers)
    if isinstance(name, (int, np.integer)):
        return _checked_index(int(name), num_labels)
    if not isinstance(name, str):
        raise ValueError(  # noqa: TRY004 (every bad query is a ValueError for callers)
            f"query entries must be label names or class indices, got {type(name).__name__} {name!r}"
        )
    lookup = {normalize_label(label): index for label, index in label2id.items()}
    index = lookup.get(normalize_label(name))
    if index is None and re.fullmatch(r"[+-]?\d+", name.strip()):
        return _checked_index(int(name), num_labels)
    if index is None:
        suggestions = suggest_labels(name, list(label2id))
        hint = f" Did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        raise ValueError(f"Unknown class {name!r}.{hint} List the model's classes with `qrtse classes`.")
    return index


def _query_set_to_multi_hot(query_set, label2id: dict, allow_empty: bool = False) -> np.ndarray:
    num_labels = len(label2id)
    if isinstance(query_set, (np.ndarray, torch.Tensor)):
        vector = np.asarray(query_set.detach().cpu() if torch.is_tensor(query_set) else query_set, dtype=np.float64)
        if vector.shape != (num_labels,):
            raise ValueError(f"a multi-hot query must have shape ({num_labels},), got {vector.shape}")
        if not np.isin(vector, (0.0, 1.0)).all():
            raise ValueError("a multi-hot query must contain only 0 and 1")
        multi_hot = vector.astype(np.float32)
    else:
        names = [query_set] if isinstance(query_set, (str, int, np.integer)) else list(query_set)
        names = [name for name in names if not (isinstance(name, str) and not name.strip())]
        multi_hot = np.zeros(num_labels, np.float32)
        for name in names:
            multi_hot[label_to_index(name, label2id)] = 1.0
    if not multi_hot.any() and not allow_empty:
        raise ValueError(
            "The query names no class. Pass at least one label, e.g. query=['Bark']; list the "
            "model's classes with `qrtse classes`."
        )
    return multi_hot


def parse_query(query, label2id: dict, allow_empty: bool = False) -> tuple:
    """Parse a query into a `(K, num_labels)` float32 multi-hot array and whether it was given as
    several query sets.

    Accepted forms (`C` = number of classes):
    - one label name or index: `"Bark"`, `2`, `"2"` (a string of digits is an index);
    - one query set: a list/tuple of names and/or indices (`["Trumpet", "Bark"]`), or a 1-D numpy
      array / torch tensor of length C holding 0/1 (a multi-hot vector; a *list* of ints is
      always read as indices);
    - several query sets, one target each: a list of the above (`[["Trumpet"], ["Bark", "Meow"]]`)
      or a 2-D `(K, C)` array.

    Raises `ValueError` for no query, an empty query set (unless `allow_empty`, as for a list of
    oracle classes, which may rightly be empty), an unknown name (with suggestions) or a malformed
    vector.
    """
    if query is None:
        raise ValueError(
            "No query given: pass query=[...] with the classes to extract, e.g. query=['Bark']; "
            "list the model's classes with `qrtse classes`."
        )
    if isinstance(query, (np.ndarray, torch.Tensor)) and query.ndim == 2:
        return np.stack([_query_set_to_multi_hot(row, label2id, allow_empty) for row in query]), True
    is_nested = (
        isinstance(query, (list, tuple))
        and len(query) > 0
        and all(isinstance(item, (list, tuple, np.ndarray, torch.Tensor)) for item in query)
    )
    if is_nested:
        return np.stack([_query_set_to_multi_hot(item, label2id, allow_empty) for item in query]), True
    if isinstance(query, (list, tuple)) and any(
        isinstance(item, (list, tuple, np.ndarray, torch.Tensor)) for item in query
    ):
        raise ValueError("Mix of query sets and single labels: use [['Trumpet'], ['Bark']] or ['Trumpet', 'Bark']")
    return _query_set_to_multi_hot(query, label2id, allow_empty)[None], False


def multi_hot_to_labels(multi_hot, id2label: dict) -> list:
    """Label names of the non-zero entries, in vocabulary order."""
    return [id2label[int(index)] for index in np.flatnonzero(np.asarray(multi_hot) > 0)]
