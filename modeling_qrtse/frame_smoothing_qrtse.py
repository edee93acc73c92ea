"""The settings of frame-level refinement (`frame_refinement_qrtse`): the frame threshold, the
local presence gate and the smoothing of the frame decisions, in seconds. Kept apart from the
algorithm so that the config validates `config.frame_smoothing` without importing it.

Shipped as remote code next to the config: the standard library only.
"""

import math
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class FrameSmoothing:
    """The frame decisions' threshold (None: the clip theta) and their post-processing, in seconds
    (see `frame_refinement_qrtse`'s module docstring). `from_dict` builds it from
    `config.frame_smoothing` or a pipeline argument; bad values raise `ValueError`."""

    threshold: float | None = None
    gate_s: float | None = None
    median_s: float = 0.0
    min_gap_s: float = 0.0
    min_event_s: float = 0.0
    pad_s: float = 0.0

    def __post_init__(self):
        if self.threshold is not None and (
            isinstance(self.threshold, bool)
            or not isinstance(self.threshold, (int, float))
            or not 0.0 <= self.threshold <= 1.0
        ):
            raise ValueError(f"frame smoothing threshold must be None or a number in [0, 1], got {self.threshold!r}")
        if self.gate_s is not None and (
            isinstance(self.gate_s, bool)
            or not isinstance(self.gate_s, (int, float))
            or not math.isfinite(self.gate_s)
            or self.gate_s <= 0
        ):
            raise ValueError(f"frame smoothing gate_s must be None or a finite number > 0 seconds, got {self.gate_s!r}")
        for field in fields(self):
            if field.name in ("threshold", "gate_s"):
                continue
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"frame smoothing {field.name} must be a number of seconds, got {value!r}")  # noqa: TRY004 (every bad parameter is a ValueError for callers)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"frame smoothing {field.name} must be a finite number >= 0 seconds, got {value!r}")

    @classmethod
    def from_dict(cls, values) -> "FrameSmoothing":
        if isinstance(values, cls):
            return values
        if values is None:
            return cls()
        if not isinstance(values, dict):
            raise ValueError(f"frame smoothing must be a dict of seconds, got {type(values).__name__}")  # noqa: TRY004 (every bad parameter is a ValueError for callers)
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown frame smoothing parameter(s) {unknown}; known: {sorted(known)}")
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)
