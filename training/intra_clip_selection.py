"""What the intra-clip selectors share: a grid of candidate settings and the criterion they are
ranked by (`select frame-smoothing`, `select online-refinement`).

The criterion is the whole-clip SNRi of one refinement setting, averaged over FMQ (1:0) and PMQ
(1:1, 1:3), on the intra-clip validation mixtures (`qrtse.training.intra_clip_scoring`): it
rewards silencing the regions where no queried class sounds and punishes cutting the target
alike, so one number weighs a setting's two ways of failing.
"""

import itertools

from .intra_clip_scoring import evaluate_intra_clip
from .scoring import Condition

INTRA_CLIP_CONDITIONS = (Condition(1, 0), Condition(1, 1), Condition(1, 3))


def candidates(grid: dict) -> list:
    """Every combination of `grid`'s values, `{parameter: [values]}`, in the grid's order."""
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(grid[name] for name in names))]


def intra_clip_criterion(model, examples, labels, smoothing, setting: str = "frame") -> float:
    """Whole-clip SNRi of one refinement setting, averaged over INTRA_CLIP_CONDITIONS."""
    summary = evaluate_intra_clip(
        model, examples, labels, smoothing=smoothing, conditions=INTRA_CLIP_CONDITIONS, settings=(setting,)
    )
    scores = [summary["scores"][f"{c.name}|{setting}"]["snri"] for c in INTRA_CLIP_CONDITIONS]
    return sum(scores) / len(scores)
