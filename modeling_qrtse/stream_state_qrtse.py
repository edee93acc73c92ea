"""What a causal model carries from one chunk of a stream to the next (`streaming_qrtse`).

Shipped as remote code next to the model: torch only.
"""

import dataclasses

import torch


@dataclasses.dataclass
class QrtseStreamState:
    """The explicit state of a stream of a causal [`QrtseModel`], batch-first. The model's steps
    (`analyze`, `refine_online`, `extract` with an analysis of a chunk) read it and replace its
    fields; no tensor is modified in place, so [`snapshot`] is a cheap, independent copy (to
    save and restore a stream, or to leave it as it was when a chunk is refused).

    Fields:
        input_tail: `(batch, samples)`, the input not yet encoded: the last `window - hop`
            samples of the last frame (zeros at the start: the encoder's left padding) and any
            samples short of the next hop.
        shared, mask: per TCN block, the depthwise convolution's input context `(rows, H, frames)`
            (None at the start); the mask estimator's rows are `batch * K`.
        classifier: `[hidden]`, the GRU's hidden state `(layers, batch, hidden)` (None at the start).
        presence_past, decision_past, gate_past: the trailing windows of online refinement
            (`online_refinement_qrtse`), None at the start.
        decoder_tail: `(batch * K, window - hop)`, the overlap-add of the frames so far that later
            frames still add to.
        presence: `(batch, classes)`, the online presence of the last frame (None before one).
        frames, samples_in, samples_out: counts so far; skip: output samples still to drop (the
            decoder's crop of the encoder's left padding).
    """

    input_tail: torch.Tensor
    shared: list
    classifier: list
    mask: list
    window: int
    hop: int
    skip: int
    presence_past: torch.Tensor | None = None
    decision_past: torch.Tensor | None = None
    gate_past: torch.Tensor | None = None
    decoder_tail: torch.Tensor | None = None
    presence: torch.Tensor | None = None
    frames: int = 0
    samples_in: int = 0
    samples_out: int = 0

    @classmethod
    def start(cls, config, batch_size: int, dtype: torch.dtype = torch.float32, device=None) -> "QrtseStreamState":
        """The state before a stream's first sample."""
        edge = config.frame_offset_samples
        return cls(
            input_tail=torch.zeros(batch_size, edge, dtype=dtype, device=device),
            shared=[None] * (config.shared_blocks * config.shared_repeats),
            classifier=[None],
            mask=[None] * (config.mask_blocks * config.mask_repeats),
            window=config.window_samples,
            hop=config.hop_samples,
            skip=edge,
        )

    @property
    def batch_size(self) -> int:
        return self.input_tail.shape[0]

    def snapshot(self) -> "QrtseStreamState":
        """An independent copy (the lists are copied; the tensors are never modified in place)."""
        return dataclasses.replace(
            self, shared=list(self.shared), classifier=list(self.classifier), mask=list(self.mask)
        )

    def frames_ready(self, num_samples: int) -> int:
        """How many frames `num_samples` more samples complete."""
        available = self.input_tail.shape[-1] + num_samples
        return max(0, (available - self.window) // self.hop + 1)

    def buffer(self, samples: torch.Tensor) -> None:
        """Keep `samples` `(batch, time)` that complete no frame for the next chunk."""
        self.input_tail = torch.cat([self.input_tail, samples], dim=-1)
        self.samples_in += samples.shape[-1]

    def take_frames(self, samples: torch.Tensor) -> torch.Tensor:
        """The buffered input followed by `samples` `(batch, time)`, cut to the frames they
        complete (`(batch, (frames - 1) * hop + window)`, for `QrtseEncoder.frames_of`); the rest
        stays buffered."""
        buffered = torch.cat([self.input_tail, samples], dim=-1)
        frames = self.frames_ready(samples.shape[-1])
        if frames == 0:
            raise ValueError("this chunk completes no frame; buffer it (QrtseStreamState.buffer) instead")
        self.input_tail = buffered[:, frames * self.hop :]
        self.frames += frames
        self.samples_in += samples.shape[-1]
        return buffered[:, : (frames - 1) * self.hop + self.window]

    def emit(self, overlap_added: torch.Tensor, ready: int) -> torch.Tensor:
        """The output samples of new frames' `overlap_added` `(rows, (frames - 1) * hop + window)`
        that no later frame adds to (the first `ready`, after the previous tail is added); the rest
        is kept as the next tail. The encoder's left padding is dropped from the stream's start."""
        if self.decoder_tail is not None:
            edge = self.decoder_tail.shape[-1]
            overlap_added = torch.cat([overlap_added[:, :edge] + self.decoder_tail, overlap_added[:, edge:]], dim=-1)
        self.decoder_tail = overlap_added[:, ready:]
        drop = min(self.skip, ready)
        self.skip -= drop
        emitted = overlap_added[:, drop:ready]
        self.samples_out += emitted.shape[-1]
        return emitted
