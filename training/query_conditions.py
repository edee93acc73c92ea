"""Evaluation queries under the paper's query conditions (Section 1 and Table 1).

A query names `n_active` classes present in the mixture and `n_inactive` classes absent from it:

- FMQ, fully matched query (1:0): only active classes;
- PMQ, partially matched query (1:k), k >= 1: active and inactive classes;
- FUQ, fully unmatched query (0:1): only inactive classes; the ideal output is silence.

The target is the sum of the stems of the queried *active* classes; inactive classes add nothing.
"""

from dataclasses import dataclass

import numpy as np

# The conditions of Table 1; Fig. 3 sweeps n_inactive further.
PAPER_QUERY_CONDITIONS = {"FMQ (1:0)": (1, 0), "PMQ (1:1)": (1, 1), "PMQ (1:3)": (1, 3), "FUQ (0:1)": (0, 1)}


@dataclass(frozen=True)
class Query:
    """A multi-hot query and what it means for one mixture.

    Attributes:
        query (`np.ndarray` of shape `(num_classes,)`, float32): multi-hot query vector.
        target_classes (`tuple` of int): the queried active classes; their stems sum to the target.
        inactive_classes (`tuple` of int): the queried classes absent from the mixture.
    """

    query: np.ndarray
    target_classes: tuple
    inactive_classes: tuple

    @property
    def condition(self) -> str:
        return query_condition(len(self.target_classes), len(self.inactive_classes))


def query_condition(n_active: int, n_inactive: int) -> str:
    """`"FMQ"`, `"PMQ"` or `"FUQ"` for a query with these counts."""
    if n_active > 0:
        return "PMQ" if n_inactive > 0 else "FMQ"
    if n_inactive > 0:
        return "FUQ"
    raise ValueError("a query needs at least one class (n_active + n_inactive >= 1)")


def make_query(presence, n_active: int, n_inactive: int, rng) -> Query:
    """Draw a query of `n_active` classes present in the mixture and `n_inactive` absent ones.

    Args:
        presence (array-like of shape `(num_classes,)`): multi-hot presence of the mixture.
        n_active (`int`): queried active classes, drawn uniformly from the present ones.
        n_inactive (`int`): queried inactive classes, drawn uniformly from the absent ones.
        rng (`np.random.Generator` or `int`): randomness; an int seeds a new generator, so the
            same seed and presence give the same query.

    Raises:
        ValueError: if `n_active` exceeds the number of present classes, `n_inactive` the number
            of absent classes, or both are zero.
    """
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    presence = np.asarray(presence)
    if presence.ndim != 1:
        raise ValueError(f"presence must be a 1-D multi-hot vector, got shape {presence.shape}")
    if n_active < 0 or n_inactive < 0:
        raise ValueError(f"n_active and n_inactive must be >= 0, got {n_active}, {n_inactive}")
    query_condition(n_active, n_inactive)
    present = np.flatnonzero(presence > 0.5)
    absent = np.flatnonzero(presence <= 0.5)
    if n_active > len(present):
        raise ValueError(f"cannot query {n_active} active classes: the mixture has only {len(present)}")
    if n_inactive > len(absent):
        raise ValueError(f"cannot query {n_inactive} inactive classes: only {len(absent)} classes are absent")
    active = np.sort(rng.choice(present, size=n_active, replace=False)) if n_active else np.empty(0, dtype=int)
    inactive = np.sort(rng.choice(absent, size=n_inactive, replace=False)) if n_inactive else np.empty(0, dtype=int)
    query = np.zeros(len(presence), dtype=np.float32)
    query[active] = 1.0
    query[inactive] = 1.0
    return Query(query, tuple(int(c) for c in active), tuple(int(c) for c in inactive))


def target_from_stems(stems: np.ndarray, stem_labels, target_classes) -> np.ndarray:
    """Sum of the stems whose class is in `target_classes` (zeros if none): `(time,)`.

    `stems` is `(slots, time)` and `stem_labels` `(slots,)` with -1 for empty slots, as stored in
    the frozen splits and yielded by `DynamicMixtureDataset`.
    """
    selected = np.isin(np.asarray(stem_labels), list(target_classes))
    return stems[selected].sum(axis=0) if selected.any() else np.zeros(stems.shape[-1], dtype=stems.dtype)
