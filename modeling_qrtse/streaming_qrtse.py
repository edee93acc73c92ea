"""Streaming extraction with a causal model (`QrtseConfig(causal=True)`), chunk by chunk, for
hearables, calls and live monitoring.

    streamer = model.streamer(["Bark"])
    for chunk in microphone:            # (samples,) float, any size
        play(streamer.process(chunk))   # the output samples that are final
    play(streamer.flush())              # the end of the stream

Each chunk runs the model's own steps (`analyze` of the chunk, `refine_online`, `extract`) on the
state they carry over (`QrtseStreamState`). Concatenated, the outputs of every `process` and the
`flush` are the model's offline output on the concatenated input (to float rounding), whatever the
chunk sizes: no step reads the future, and each keeps exactly the past it needs.

Latency: the output of sample t is final once the input reaches t + window - 1 (the
decoder's overlap-add), so a sample leaves `algorithmic_latency_s` (one encoder window) plus the
wait for its chunk to fill (`buffering_latency_s`, the chunk's duration) after it arrived.

Shipped as remote code next to the model: flat sibling imports and torch / numpy only.
"""

import numpy as np
import torch

from .processing_qrtse import QrtseProcessor
from .refinement_qrtse import check_query, check_threshold, resolve_threshold
from .stream_state_qrtse import QrtseStreamState

NOT_CAUSAL = (
    "streaming needs a causal model (QrtseConfig(causal=True), e.g. the 'small-causal' preset): "
    "this model's output reads future input"
)


class QrtseStreamer:
    """Extracts `query` from `batch_size` streams in lockstep with a causal [`QrtseModel`].

    Args:
        model: a causal `QrtseModel` (its eager modules; the stream runs under inference mode).
        query: what to extract, in any form [`QrtseProcessor.encode_query`] reads (class names,
            indices, a multi-hot vector; a list of sets or a `(K, classes)` array for K targets),
            the same for every stream; or a `(batch_size, K, classes)` tensor, one per stream. A
            query that names no class is allowed (a listener may clear it): nothing is extracted.
        threshold: theta of online refinement (default: the config's; 0 switches it off).
        batch_size: how many streams each chunk carries.
    """

    def __init__(self, model, query, threshold=None, batch_size: int = 1):
        if not getattr(model.config, "causal", False):
            raise ValueError(NOT_CAUSAL)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.model = model
        self.config = model.config
        self.batch_size = batch_size
        self.threshold = resolve_threshold(self.config, threshold)
        check_threshold(self.threshold, self.config.num_labels)
        self.processor = QrtseProcessor.from_config(self.config)
        self._dtype = next(model.parameters()).dtype
        self._device = next(model.parameters()).device
        self._query, self._several = self._parse_query(query)
        self.reset()

    # The query -------------------------------------------------------------------------------
    def _parse_query(self, query) -> tuple[torch.Tensor, bool]:
        if torch.is_tensor(query) and query.dim() == 3:
            check_query(query, self.batch_size, self.config.num_labels)
            return query.to(self._dtype, copy=True), True
        encoded = self.processor.encode_query(query, allow_empty=True)
        rows = encoded.to(self._dtype) if encoded.dim() == 2 else encoded.to(self._dtype)[None]
        return rows.expand(self.batch_size, -1, -1).clone(), encoded.dim() == 2

    @property
    def query(self) -> torch.Tensor:
        """The query `(batch_size, K, classes)` as set (before refinement)."""
        return self._query.clone()

    def set_query(self, query) -> None:
        """Extract `query` (the forms of the constructor's) from the next chunk on; the number of
        targets K stays that of the stream. A bad query raises `ValueError` and changes nothing."""
        parsed, several = self._parse_query(query)
        if parsed.shape != self._query.shape:
            raise ValueError(
                f"a stream keeps its number of targets: the query has {parsed.shape[1]}, the stream "
                f"{self._query.shape[1]}; start another streamer for a different number"
            )
        self._query, self._several = parsed, several

    # The stream ------------------------------------------------------------------------------
    def reset(self) -> None:
        """Start a new stream (the query and threshold stay)."""
        self._state = QrtseStreamState.start(self.config, self.batch_size, self._dtype, self._device)
        self._refined = None

    @property
    def state(self) -> QrtseStreamState:
        """A snapshot of the stream's state (see [`load_state`])."""
        return self._state.snapshot()

    def load_state(self, state: QrtseStreamState) -> None:
        """Continue from a snapshot taken with [`state`] (of a stream of the same shape)."""
        if state.batch_size != self.batch_size or state.hop != self.config.hop_samples:
            raise ValueError("this state belongs to a stream of another batch size or model")
        self._state = state.snapshot()

    def process(self, chunk, sampling_rate: int | None = None) -> torch.Tensor:
        """Extract from the next `chunk`: `(samples,)` for one stream or `(batch_size, samples)`,
        floating point at `config.sampling_rate`. Returns the output samples that are now final:
        `(batch_size, [K,] n)`, or `(n,)` for a 1-D chunk and one target, n >= 0. A bad chunk
        raises `ValueError` before any work and leaves the stream as it was."""
        samples, one_dimensional = self._check_chunk(chunk, sampling_rate)
        state = self._state.snapshot()
        output = self._run(samples, state)
        self._state = state
        return self._shaped(output, one_dimensional)

    def flush(self) -> torch.Tensor:
        """End the stream: the rest of its output (the model's right padding is fed through, as
        offline), shaped as [`process`]'s for a 2-D chunk; then [`reset`]."""
        state = self._state
        received, emitted = state.samples_in, state.samples_out
        if received == 0:
            output = torch.zeros(self.batch_size * self._query.shape[1], 0, dtype=self._dtype)
        else:
            edge, hop = self.config.frame_offset_samples, self.config.hop_samples
            remainder = (received + 2 * edge - self.config.window_samples) % hop
            padding = edge + (hop - remainder) % hop
            output = self._run(torch.zeros(self.batch_size, padding, dtype=self._dtype, device=self._device), state)
            output = output[:, : received - emitted]
        self.reset()
        return self._shaped(output, one_dimensional=False)

    def _run(self, samples: torch.Tensor, state: QrtseStreamState) -> torch.Tensor:
        """The model's steps on `samples`, advancing `state`: `(batch * K, n)`."""
        num_queries = self._query.shape[1]
        if state.frames_ready(samples.shape[-1]) == 0:
            state.buffer(samples)
            return samples.new_zeros(self.batch_size * num_queries, 0)
        with torch.inference_mode():
            analysis = self.model.analyze(samples, stream=state)
            refined = self.model.refine_online(self._query, analysis, self.threshold)
            extracted = self.model.extract(analysis, refined)
        self._refined = refined[:, :, -1] > 0
        return extracted.flatten(0, 1)

    def _check_chunk(self, chunk, sampling_rate: int | None) -> tuple[torch.Tensor, bool]:
        """The chunk as `(batch_size, samples)` in the model's dtype, and whether it was 1-D."""
        if sampling_rate is not None and sampling_rate != self.config.sampling_rate:
            raise ValueError(
                f"the chunk is at {sampling_rate} Hz, the model at {self.config.sampling_rate} Hz: resample the stream"
            )
        if isinstance(chunk, np.ndarray):
            chunk = torch.from_numpy(chunk)
        if not torch.is_tensor(chunk):
            raise ValueError(f"a chunk must be a torch.Tensor or numpy array, got {type(chunk).__name__}")
        if not chunk.is_floating_point():
            raise ValueError(f"a chunk must hold floating-point samples in [-1, 1], got {chunk.dtype}")
        expected = "(samples,) or (1, samples)" if self.batch_size == 1 else f"({self.batch_size}, samples)"
        one_dimensional = chunk.dim() == 1
        if one_dimensional and self.batch_size == 1:
            chunk = chunk[None]
        if chunk.dim() != 2 or chunk.shape[0] != self.batch_size:
            raise ValueError(f"a chunk must have shape {expected}, got {tuple(chunk.shape)}")
        if chunk.shape[-1] == 0:
            raise ValueError("an empty chunk: pass at least one sample (or call flush() to end the stream)")
        if not bool(torch.isfinite(chunk).all()):
            raise ValueError("the chunk contains NaN or Inf")
        return chunk.to(self._dtype, copy=True).to(self._device), one_dimensional

    def _shaped(self, output: torch.Tensor, one_dimensional: bool) -> torch.Tensor:
        output = output.view(self.batch_size, self._query.shape[1], -1)
        if self._several:
            return output
        output = output[:, 0]
        return output[0] if one_dimensional else output

    # What the stream is doing ------------------------------------------------------------------
    @property
    def presence(self) -> torch.Tensor | None:
        """`(batch_size, classes)`: online presence of the last frame (None before one or without classifier)."""
        return self._state.presence

    @property
    def refined_query(self) -> torch.Tensor | None:
        """`(batch_size, K, classes)` bool: the classes extracted in the last frame (None before one)."""
        return self._refined

    def refined_labels(self) -> list:
        """The class names extracted in the last frame: one list per stream and target."""
        if self._refined is None:
            return [[[] for _ in range(self._query.shape[1])] for _ in range(self.batch_size)]
        return self.processor.decode_query(self._refined)

    @property
    def algorithmic_latency_s(self) -> float:
        """One encoder window: how much input past a sample its output needs."""
        return self.config.algorithmic_latency_s

    def buffering_latency_s(self, chunk_samples: int) -> float:
        """How long the first sample of a chunk of `chunk_samples` waits for the chunk to fill."""
        return chunk_samples / self.config.sampling_rate

    @property
    def frames(self) -> int:
        """Frames processed so far (the frame index the next chunk's first frame has)."""
        return self._state.frames
