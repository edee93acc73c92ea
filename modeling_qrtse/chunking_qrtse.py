"""Long audio in bounded memory: overlap-save chunks, a crossfade, and streaming clip pooling.

With per-frame layer norm (cLN) the extractor is local in time: an output sample depends only on
the input within `context_samples(config)` of it (half the receptive field of the two TCNs plus
one encoder window). A chunk processed with that much extra input on each side therefore
reproduces the one-pass output exactly over its core (overlap-save); the context is discarded.
Chunk starts are multiples of the encoder hop so that chunk frames coincide with one-pass frames.

Neighbouring chunks are joined with a short linear crossfade centred on the border. With full
context both sides are exact there and the crossfade changes nothing but float rounding; it
matters when they legitimately differ: a gLN model (global normalisation, not local), or per-chunk
query refinement, where the query may change from one chunk to the next.

A batch of inputs of different lengths is cut item by item, each by the plan it gets alone
(`plan_batch_chunks`): the classifier's BiGRU sees one chunk at a time, so a shared grid would
make an item's class probabilities depend on the longest input it is batched with.
"""

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Chunk:
    """One piece of a long input, in samples at the model rate.

    `[start, end)` is what the model processes; `[core_start, core_end)` is the part this chunk
    is responsible for (cores tile the input); the rest is context.
    """

    start: int
    end: int
    core_start: int
    core_end: int
    is_first: bool
    is_last: bool


def context_samples(config, crossfade: int = 0) -> int:
    """Context per side that makes chunked extraction equal one-pass extraction: an output sample
    depends on frames within half the receptive field of the frames that cover it, and each frame
    reads one window of samples. The crossfade reaches `crossfade / 2` past the core, so that is
    added too. Rounded up to whole hops, plus one hop of margin."""
    half_field = (config.receptive_field_frames - 1) // 2
    reach = (half_field + 1) * config.hop_samples + config.window_samples + math.ceil(crossfade / 2)
    return math.ceil(reach / config.hop_samples) * config.hop_samples


def plan_chunks(num_samples: int, chunk_samples: int, context: int, hop: int) -> list:
    """Split `num_samples` into cores of about `chunk_samples` (rounded down to whole hops), each
    widened by `context` on both sides (clipped to the input). A remainder shorter than half a
    chunk joins the last chunk rather than becoming a tiny one, so a core is at most 1.5 chunks."""
    chunk_samples = max(hop, chunk_samples // hop * hop)
    context = math.ceil(context / hop) * hop
    num_chunks = max(1, math.floor(num_samples / chunk_samples + 0.5))
    borders = [k * chunk_samples for k in range(num_chunks)] + [num_samples]
    return [
        Chunk(
            start=max(0, borders[k] - context),
            end=min(num_samples, borders[k + 1] + context),
            core_start=borders[k],
            core_end=borders[k + 1],
            is_first=k == 0,
            is_last=k == num_chunks - 1,
        )
        for k in range(num_chunks)
    ]


@dataclass(frozen=True)
class BatchChunk:
    """Chunk k of every item of a batch, each item cut by its own plan ([`plan_batch_chunks`]).

    The items' chunks share `start` (chunk k of any plan starts at k chunks minus the context);
    `[start, end)` covers the longest of them; `items[b]` is item b's own chunk, or None when item
    b has fewer than k + 1 chunks.
    """

    start: int
    end: int
    items: tuple

    def lengths(self) -> torch.Tensor:
        """`(batch,)` samples of each item's chunk from `start`, 0 where it has none."""
        return torch.tensor([0 if chunk is None else chunk.end - self.start for chunk in self.items])

    def crossfade_weights(self, crossfade: int) -> torch.Tensor:
        """`(batch, end - start)`: each item's [`crossfade_weights`], zero past its chunk."""
        weights = torch.zeros(len(self.items), self.end - self.start)
        for row, chunk in enumerate(self.items):
            if chunk is not None:
                weights[row, : chunk.end - chunk.start] = crossfade_weights(chunk, crossfade)
        return weights

    def owned_frames(self, num_frames: int, hop: int) -> torch.Tensor:
        """`(batch, num_frames)` bool: the frames each item's chunk owns ([`owned_frames`])."""
        owned = torch.zeros(len(self.items), num_frames, dtype=torch.bool)
        for row, chunk in enumerate(self.items):
            if chunk is not None:
                owned[row, slice(*owned_frames(chunk, num_frames, hop))] = True
        return owned


def plan_batch_chunks(lengths: list, chunk_samples: int, context: int, hop: int) -> list:
    """[`BatchChunk`]s of a batch of inputs of `lengths` samples (zero-padded to the longest): each
    item cut by its own [`plan_chunks`], exactly as when it is processed alone, and chunk k of
    every item processed together."""
    plans = [plan_chunks(int(length), chunk_samples, context, hop) for length in lengths]
    batch_chunks = []
    for index in range(max(len(plan) for plan in plans)):
        items = tuple(plan[index] if index < len(plan) else None for plan in plans)
        present = [chunk for chunk in items if chunk is not None]
        batch_chunks.append(BatchChunk(present[0].start, max(chunk.end for chunk in present), items))
    return batch_chunks


def crossfade_weights(chunk: Chunk, crossfade: int) -> torch.Tensor:
    """Weight of this chunk's output over `[start, end)`: 1 inside its core, 0 in its context, and
    linear ramps of `crossfade` samples centred on each inner border. The ramps of neighbouring
    chunks sum to exactly one, so the weighted sum of all chunks is a partition of unity."""
    positions = torch.arange(chunk.start, chunk.end, dtype=torch.float64) + 0.5
    weights = torch.ones_like(positions)
    if crossfade <= 0:
        inside = (positions >= chunk.core_start) & (positions < chunk.core_end)
        return inside.to(torch.float32)
    if not chunk.is_first:
        weights = weights * ((positions - chunk.core_start + crossfade / 2) / crossfade).clamp(0, 1)
    if not chunk.is_last:
        weights = weights * ((chunk.core_end + crossfade / 2 - positions) / crossfade).clamp(0, 1)
    return weights.to(torch.float32)


def owned_frames(chunk: Chunk, num_frames: int, hop: int) -> tuple:
    """`(first, stop)` indices of the chunk's frames that it owns: those whose hop position lies in
    its core, so that every one-pass frame is counted by exactly one chunk. The last chunk also
    owns the frames past the end of the input that the encoder's padding creates."""
    first = (chunk.core_start - chunk.start) // hop
    stop = num_frames if chunk.is_last else math.ceil((chunk.core_end - chunk.start) / hop)
    return first, min(stop, num_frames)


class StreamingPooling:
    """Clip probabilities pooled over frames seen chunk by chunk, with exactly the arithmetic of
    `classifier_qrtse.pool_frames` on the concatenated frames. Linear-softmax pooling (Wang et al.
    2019, paper Section 3.1) is sum(p^2) / sum(p): both sums accumulate over chunks."""

    def __init__(self, method: str):
        self.method = method
        self.numerator = self.denominator = None

    def add(self, frame_probabilities: torch.Tensor, frame_weights: torch.Tensor) -> None:
        """Frames `(batch, frames, classes)` with 0/1 weights `(batch, frames)`."""
        weights = frame_weights.unsqueeze(-1).to(frame_probabilities.dtype)
        weighted = frame_probabilities * weights
        if self.method == "max":
            current = weighted.amax(dim=1)
            self.numerator = current if self.numerator is None else torch.maximum(self.numerator, current)
            return
        if self.method == "mean":
            numerator, denominator = weighted.sum(1), weights.sum(1)
        else:
            numerator, denominator = (weighted * frame_probabilities).sum(1), weighted.sum(1)
        self.numerator = numerator if self.numerator is None else self.numerator + numerator
        self.denominator = denominator if self.denominator is None else self.denominator + denominator

    def result(self) -> torch.Tensor:
        """Clip probabilities `(batch, classes)`."""
        if self.method == "max":
            return self.numerator
        if self.method == "mean":
            return self.numerator / self.denominator.clamp_min(1.0)
        return self.numerator / self.denominator.clamp_min(1e-7)
