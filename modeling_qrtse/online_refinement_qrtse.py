"""Online query refinement for causal models (`config.causal`): eq. (7) decided frame by frame from
the past only, so that a stream can follow sounds as they come and go.

- **Presence**: each frame's class probabilities pooled, with the classifier's own pooling, over
  a trailing window of `config.presence_window_frames` frames (the frame and those before it;
  before the signal's start counts as no frame).
- **Decision** (hysteresis): queried class i is kept in frame f when its presence reached theta_i
  in one of the `config.release_frames` frames up to f: it enters as soon as it is heard and
  leaves once it has stayed below theta that long, so the query does not flicker.
- **Silence** (`config.silence_empty_query`): where a frame's refined query names no class the
  mask fades to zero over `GATE_RAMP_S` after the last kept frame, and opens at once when a class
  enters (a fade-in would need the future or cut the onset).

Each is a function of a trailing window of finite reach. A stream hands each call the frames
before its own (`past`, zeros at the start), so chunk by chunk gives what the whole signal gives.

Shipped as remote code next to the model: flat sibling imports and torch only.
"""

import torch
from torch.nn import functional as F

from .frame_refinement_qrtse import GATE_RAMP_S


def with_past(past: torch.Tensor | None, new: torch.Tensor, reach: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`new` `(rows, frames, ...)` preceded by its `reach` frames of `past` (zeros at the start of a
    signal) along dim 1, and the last `reach` frames of that (the next call's past)."""
    if past is None:
        past = new.new_zeros(new.shape[0], reach, *new.shape[2:])
    combined = torch.cat([past, new], dim=1)
    return combined, combined[:, combined.shape[1] - reach :]


def _trailing_sum(values: torch.Tensor, window: int) -> torch.Tensor:
    """Sums over `window` consecutive frames (dim 1) of `(batch, frames, classes)`: one per frame
    from the `window`-th on. A float64 running sum, so that the sums do not depend on where the
    signal was cut into chunks beyond float32 rounding."""
    running = F.pad(values.double().cumsum(1), (0, 0, 1, 0))
    return (running[:, window:] - running[:, :-window]).to(values.dtype)


def trailing_presence(
    frame_probabilities: torch.Tensor,
    window: int,
    pooling: str,
    past: torch.Tensor | None = None,
    first_frame: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Online presence `(batch, frames, classes)` of frame probabilities `(batch, frames,
    classes)`: each frame's pooled over it and the `window - 1` before (`classifier_qrtse.pool_frames`'
    poolings). `past`: the `window - 1` frame probabilities before these (None: the start);
    `first_frame`: the index of the first of these frames in the signal (for "mean", which counts
    only frames of the signal). Returns the presence and the next call's past."""
    combined, next_past = with_past(past, frame_probabilities, window - 1)
    if pooling == "max":
        rows = combined.transpose(1, 2)
        pooled = F.max_pool1d(rows, window, stride=1).transpose(1, 2)
    elif pooling == "mean":
        frames = first_frame + torch.arange(1, frame_probabilities.shape[1] + 1, device=combined.device)
        counts = frames.clamp_max(window).to(combined.dtype)[None, :, None]
        pooled = _trailing_sum(combined, window) / counts
    else:  # linear softmax: sum(p^2) / sum(p)
        pooled = _trailing_sum(combined * combined, window) / _trailing_sum(combined, window).clamp_min(1e-7)
    return pooled, next_past


def online_activity(
    presence: torch.Tensor, threshold, release: int, past: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Which classes are kept in which frames `(batch, frames, classes)` bool: presence reached
    `threshold` (a float or one per class) in one of the `release` frames up to each. `past`: the
    `release - 1` decisions before (None: the start). Returns the activity and the next past."""
    theta = torch.as_tensor(threshold, dtype=presence.dtype, device=presence.device)
    heard = (presence >= theta).to(presence.dtype)
    combined, next_past = with_past(past, heard, release - 1)
    kept = F.max_pool1d(combined.transpose(1, 2), release, stride=1).transpose(1, 2)
    return kept > 0.5, next_past


def fading_gate(
    kept: torch.Tensor, frame_rate: float, past: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask gain `(rows, frames)` for 0/1 `kept` `(rows, frames)` (the frames whose refined query
    names a class): 1 where kept, then a linear fall to 0 over `GATE_RAMP_S` after each kept
    region. `past`: the ramp's frames of `kept` before (None: the start). Returns the gain and the
    next past."""
    ramp = round(GATE_RAMP_S * frame_rate)
    combined, next_past = with_past(past, kept.unsqueeze(-1), ramp)
    combined = combined.squeeze(-1)
    frames = kept.shape[1]
    gain = kept.clone()
    for lag in range(1, ramp + 1):
        delayed = combined[:, ramp - lag : ramp - lag + frames]
        gain = torch.maximum(gain, delayed * (1.0 - lag / (ramp + 1)))
    return gain, next_past
