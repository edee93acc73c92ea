"""Frame-level query refinement: a query that varies over time (the paper's Section 5 future work).

Clip-level refinement (eq. 7) keeps a queried class for the whole input when its clip probability
passes theta. Frame-level refinement keeps it only in the frames where the classifier hears it, by
a two-level, hysteresis-like rule: a presence decision at theta says whether the class is there,
and its frame probabilities `(batch, frames, classes)`, thresholded at the frame threshold and
smoothed as sound event detection post-processes its decisions, say where; each frame of the
query keeps the classes active there. The presence decision is the clip decision of eq. 7 (so
absent classes go exactly as with clip refinement), or with `gate_s` a local one: the frame
probabilities pooled, with the classifier's own pooling, over a window of `gate_s` seconds around
each frame, so that a short event in a long input is not outvoted by the rest of the input. The
query embedding is linear and multiplies Z element-wise per frame (eqs. 2-3), so the mask
estimator takes a per-frame query without any change to the architecture
(`QrtseModel.estimate_mask` with a `(batch, K, frames, classes)` query).

Smoothing, in this order, on the 0/1 decisions of each class (all of it max / average pooling, so
it runs on any length in O(frames) memory and exports to ONNX):
1. median filter over `median_s` (on 0/1 decisions a median is a majority vote);
2. gaps between two events of up to `min_gap_s` are filled (morphological closing);
3. events of up to `min_event_s` are removed (morphological opening);
4. every event is widened by `pad_s` on both sides, so onsets and tails are not cut.
Lengths are rounded to whole frames (closing and opening to an even number: a gap or event of
2r frames or fewer goes, with 2r the largest even number not above the length); 0 turns a step off.
A gap at either end of the input counts as a gap only up to r frames (an event near the start is
extended to it). With all four at 0 a class that passes the presence decision is kept exactly in
the frames where its probability reaches the frame threshold.

Shipped as remote code next to the model: flat sibling imports and torch only.
"""

import torch
from torch.nn import functional as F

from .frame_smoothing_qrtse import FrameSmoothing

# The mask gain of frames whose refined query is empty (`config.silence_empty_query`) falls from 1 to 0
# over a linear ramp of twice this length outside each kept region instead of within one frame, so
# a kept event starts and ends without a click.
GATE_RAMP_S = 0.01


def _frames(seconds: float, frame_rate: float) -> int:
    return round(seconds * frame_rate)


def _dilate(decisions: torch.Tensor, radius: int) -> torch.Tensor:
    """Max over `2 radius + 1` frames `(rows, frames)`; past the borders counts as inactive."""
    if radius <= 0:
        return decisions
    return F.max_pool1d(decisions[:, None], 2 * radius + 1, stride=1, padding=radius)[:, 0]


def _erode(decisions: torch.Tensor, radius: int, border: float) -> torch.Tensor:
    """Min over `2 radius + 1` frames; past the borders counts as `border` (0 or 1)."""
    if radius <= 0:
        return decisions
    padded = F.pad(1.0 - decisions[:, None], (radius, radius), value=1.0 - border)
    return 1.0 - F.max_pool1d(padded, 2 * radius + 1, stride=1)[:, 0]


def _majority(decisions: torch.Tensor, width: int) -> torch.Tensor:
    """Median filter of 0/1 decisions over an odd `width` (edges replicated)."""
    if width <= 1:
        return decisions
    width += 1 - width % 2
    padded = F.pad(decisions[:, None], (width // 2, width // 2), mode="replicate")
    return (F.avg_pool1d(padded, width, stride=1)[:, 0] >= 0.5).to(decisions.dtype)


def smooth_decisions(decisions: torch.Tensor, smoothing: FrameSmoothing, frame_rate: float) -> torch.Tensor:
    """Smooth 0/1 float decisions `(rows, frames)` (module docstring, steps 1-4)."""
    decisions = _majority(decisions, _frames(smoothing.median_s, frame_rate))
    gap = _frames(smoothing.min_gap_s, frame_rate) // 2
    decisions = _erode(_dilate(decisions, gap), gap, border=1.0)  # closing: fills short gaps
    event = _frames(smoothing.min_event_s, frame_rate) // 2
    decisions = _dilate(_erode(decisions, event, border=0.0), event)  # opening: drops short events
    return _dilate(decisions, _frames(smoothing.pad_s, frame_rate))


def local_presence(frame_probabilities: torch.Tensor, window: int, pooling: str) -> torch.Tensor:
    """`(batch, frames, classes)`: the frame probabilities pooled over `2 (window // 2) + 1` frames
    around each frame with the classifier's `pooling` (`classifier_qrtse.pool_frames`; past the
    borders counts as no frame)."""
    batch, num_frames, num_classes = frame_probabilities.shape
    rows = frame_probabilities.transpose(1, 2).reshape(batch * num_classes, 1, num_frames)
    radius = window // 2
    if pooling == "max":
        pooled = F.max_pool1d(rows, 2 * radius + 1, stride=1, padding=radius)
    elif pooling == "mean":
        pooled = F.avg_pool1d(rows, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)
    else:  # linear softmax: sum(p^2) / sum(p) over the window
        squares = F.avg_pool1d(rows * rows, 2 * radius + 1, stride=1, padding=radius)
        pooled = squares / F.avg_pool1d(rows, 2 * radius + 1, stride=1, padding=radius).clamp_min(1e-7)
    return pooled.reshape(batch, num_classes, num_frames).transpose(1, 2)


def frame_activity(
    frame_probabilities: torch.Tensor,
    clip_probabilities: torch.Tensor | None,
    threshold,
    smoothing: FrameSmoothing,
    frame_rate: float,
    pooling: str = "linear_softmax",
) -> torch.Tensor:
    """Which classes are active in which frames: `(batch, frames, classes)` bool. A class is
    active in a frame if it passes the presence decision at `threshold` (theta of eq. 7, a float or
    one per class): its clip probability `(batch, classes)`, or with `smoothing.gate_s` its
    `local_presence` (`pooling`: the classifier's); no presence decision when neither is given;
    and its smoothed frame decision, `frame_probabilities` `(batch, frames, classes)` >=
    `smoothing.threshold` (by default theta), holds there."""
    batch, num_frames, num_classes = frame_probabilities.shape
    theta = torch.as_tensor(threshold, dtype=frame_probabilities.dtype, device=frame_probabilities.device)
    frame_theta = theta if smoothing.threshold is None else torch.as_tensor(smoothing.threshold, dtype=theta.dtype)
    decided = (frame_probabilities >= frame_theta).float()
    rows = decided.transpose(1, 2).reshape(batch * num_classes, num_frames)
    smoothed = smooth_decisions(rows, smoothing, frame_rate)
    active = smoothed.reshape(batch, num_classes, num_frames).transpose(1, 2) > 0.5
    if smoothing.gate_s is not None:
        active = active & (local_presence(frame_probabilities, _frames(smoothing.gate_s, frame_rate), pooling) >= theta)
    elif clip_probabilities is not None:
        active = active & (clip_probabilities >= theta)[:, None, :]
    return active


def frame_query(query: torch.Tensor, activity: torch.Tensor) -> torch.Tensor:
    """The time-varying query `(batch, K, frames, classes)`: each of the K queries `(batch, K,
    classes)` keeps, in each frame, the queried classes active there (`activity` `(batch, frames,
    classes)`)."""
    return query[:, :, None, :] * activity[:, None].to(query.dtype)


def empty_frame_gate(query: torch.Tensor, frame_rate: float, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
    """`(batch * K, 1, frames)` gain on the mask for a frame query `(batch, K, frames, classes)`:
    1 where the query names a class, 0 where it names none, with a linear ramp of 2 x
    `GATE_RAMP_S` outside each kept region (the frame-level form of `config.silence_empty_query`).
    `frame_mask` `(batch, frames)`: the valid frames of a padded batch (None: all); each item's
    valid frames get the gain they get alone."""
    batch, num_queries, num_frames, _ = query.shape
    kept = (query.sum(-1) > 0).to(query.dtype).reshape(batch * num_queries, num_frames)
    valid = None if frame_mask is None else frame_mask.repeat_interleave(num_queries, dim=0)
    if valid is not None:
        kept = kept * valid.to(kept.dtype)
    ramp = _frames(GATE_RAMP_S, frame_rate)
    if ramp > 0:
        # Widen by the ramp, then average over the same width: 1 on every kept frame, a linear
        # fall to 0 over `ramp` frames outside.
        widened = _dilate(kept, ramp)
        if valid is not None:  # past an item's end the average reads its last frame, as unpadded
            last = (valid.sum(1, keepdim=True) - 1).clamp_min(0)
            widened = torch.where(valid, widened, widened.gather(1, last))
        widened = F.pad(widened[:, None], (ramp, ramp), mode="replicate")
        kept = F.avg_pool1d(widened, 2 * ramp + 1, stride=1)[:, 0]
    return kept[:, None]
