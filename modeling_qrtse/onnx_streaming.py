"""Export one streaming step of a causal [`QrtseModel`] to ONNX, with the stream's state as explicit
inputs and outputs, and run it chunk by chunk with ONNX Runtime ([`OnnxStreamer`]).

    export_streaming_onnx(model, "step.onnx", frames_per_step=4, threshold=0.5)
    streamer = OnnxStreamer("step.onnx", query)   # query (batch, K, classes) multi-hot
    for chunk in microphone:                      # (batch, samples) float32, any size
        play(streamer.process(chunk))             # (batch, K, n): the output samples now final
    play(streamer.flush())

A step takes `frames_per_step * hop` new samples, which with the `window - hop` samples carried in
the state complete exactly `frames_per_step` frames, and returns as many output samples (those no
later frame overlaps). Its inputs are `input_values (batch, frames_per_step * hop)`, `query
(batch, K, classes)` (it may change from one step to the next) and one `state.<name>` per state
tensor (zeros start a stream, as None does in `QrtseStreamState`: the encoder's input tail, each
TCN block's depthwise context for the shared extractor and the mask estimator, the GRU's hidden
state, the windows of online refinement, the decoder's overlap-add tail; with "mean" pooling also
`state.frames`, the frames so far, as an int64 scalar). Its outputs are `extracted_values (batch,
K, frames_per_step * hop)`, with a classifier `presence (batch, classes)` and `refined_query (batch,
K, classes)` of the step's last frame, then `next_state.<name>` for each `state.<name>`.

The graph is the model's own streaming steps (`analyze(stream=...)`, `refine_online`, `extract`)
traced through [`QrtseOnnxStreamingStep`], with theta fixed in it as in `onnx_export`. What is a
Python int in the state stays outside the graph, in [`OnnxStreamer`]: whole steps are buffered,
the first `window - hop` output samples (the encoder's left padding) are dropped, and `flush`
feeds zeros through as `QrtseStreamer.flush` does. A query change takes effect from the next
step run (`QrtseStreamer`'s from the next chunk: the same when chunks are whole steps).

Package-only: not shipped to the Hub with the model code.
"""

import io
import warnings

import numpy as np
import torch
from torch import nn

from .kernels.onnx_runtime import onnx_session
from .onnx_export import OPSET
from .refinement_qrtse import check_threshold, resolve_threshold
from .stream_state_qrtse import QrtseStreamState
from .streaming_qrtse import NOT_CAUSAL

STATE, NEXT_STATE = "state.", "next_state."
# State tensors whose first axis is batch * K (the mask estimator's rows), not batch.
PER_TARGET = ("mask.", "gate_past", "decoder_tail")
ONNX_DTYPES = {"tensor(float)": np.float32, "tensor(int64)": np.int64}


def state_tensors(state: QrtseStreamState, count_frames: bool = False) -> dict:
    """The tensors of `state` by name (those that are None are left out); with `count_frames`
    also `frames`, which "mean" pooling reads, as a tensor."""
    named = {"input_tail": state.input_tail}
    named.update({f"shared.{index}": context for index, context in enumerate(state.shared)})
    named["classifier.hidden"] = state.classifier[0]
    named.update({f"mask.{index}": context for index, context in enumerate(state.mask)})
    for field in ("presence_past", "decision_past", "gate_past", "decoder_tail"):
        named[field] = getattr(state, field)
    if count_frames:
        named["frames"] = torch.as_tensor(state.frames, dtype=torch.int64)
    return {name: tensor for name, tensor in named.items() if tensor is not None}


def dynamic_axes_of(name: str) -> dict:
    """The batch axis of state tensor `name` (`(layers, batch, hidden)` for the GRU)."""
    if name == "frames":
        return {}
    if name.startswith(PER_TARGET):
        return {0: "batch_x_queries"}
    return {1 if name == "classifier.hidden" else 0: "batch"}


class QrtseOnnxStreamingStep(nn.Module):
    """One streaming step of a causal model (its `analyze(stream=...)`, `refine_online`, `extract`)
    with theta fixed, as the module that tracing records: `(input_values, query, *state)` in,
    `(extracted_values, [presence, refined_query,] *next_state)` out, the state tensors in the
    order of `state_names`."""

    def __init__(self, model, threshold, frames_per_step: int):
        super().__init__()
        self.model = model
        self.threshold = threshold.float() if torch.is_tensor(threshold) else float(threshold)
        self.frames_per_step = frames_per_step
        self.step_samples = frames_per_step * model.config.hop_samples
        self.count_frames = model.config.classifier_pooling == "mean" and model.classifier is not None
        self.state_names = []

    def start(self, batch_size: int, num_queries: int) -> dict:
        """The state tensors at the start of a stream (zeros), found by running one step from
        `QrtseStreamState.start`, which tells which of its fields this model fills; sets
        `state_names`."""
        config = self.model.config
        state = QrtseStreamState.start(config, batch_size)
        query = torch.zeros(batch_size, num_queries, config.num_labels)
        with torch.no_grad():
            self.step(torch.zeros(batch_size, self.step_samples), query, state)
        tensors = {name: torch.zeros_like(tensor) for name, tensor in state_tensors(state, self.count_frames).items()}
        self.state_names = list(tensors)
        return tensors

    def step(self, input_values: torch.Tensor, query: torch.Tensor, state: QrtseStreamState) -> tuple:
        """The model's steps on one step's samples, advancing `state`: the extracted samples
        `(batch, K, step_samples)` and the frame query `(batch, K, frames, classes)`."""
        analysis = self.model.analyze(input_values, stream=state)
        refined = self.model.refine_online(query, analysis, self.threshold)
        return self.model.extract(analysis, refined), refined

    def stream_state(self, tensors: dict) -> QrtseStreamState:
        """A `QrtseStreamState` on the graph's state tensors. Its skip is 0: the driver drops the
        stream's first output samples."""
        config = self.model.config
        return QrtseStreamState(
            input_tail=tensors["input_tail"],
            shared=[tensors.get(f"shared.{index}") for index in range(len(self.model.shared_extractor.blocks))],
            classifier=[tensors.get("classifier.hidden")],
            mask=[tensors.get(f"mask.{index}") for index in range(len(self.model.mask_estimator.blocks))],
            window=config.window_samples,
            hop=config.hop_samples,
            skip=0,
            presence_past=tensors.get("presence_past"),
            decision_past=tensors.get("decision_past"),
            gate_past=tensors.get("gate_past"),
            decoder_tail=tensors.get("decoder_tail"),
            # A copy: the state counts frames with `+=`, which would change the input in place.
            frames=tensors["frames"].clone() if "frames" in tensors else 0,
        )

    def forward(self, input_values: torch.Tensor, query: torch.Tensor, *state: torch.Tensor) -> tuple:
        stream = self.stream_state(dict(zip(self.state_names, state)))
        extracted, refined = self.step(input_values, query, stream)
        outputs = [extracted]
        if stream.presence is not None:
            outputs += [stream.presence, refined[:, :, -1]]
        following = state_tensors(stream, self.count_frames)
        return (*outputs, *(following[name] for name in self.state_names))


def _check_positive(name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def export_streaming_onnx(
    model,
    path=None,
    frames_per_step: int = 4,
    num_queries: int = 1,
    batch_size: int | None = 1,
    threshold=None,
    opset: int = OPSET,
):
    """Write one streaming step of causal `model` as ONNX to `path` (or return the bytes when
    `path` is None); see the module's docstring for its inputs and outputs.

    `frames_per_step`: encoder frames per step (`frames_per_step * hop` samples in and out);
    `num_queries`: K, targets per stream; `batch_size`: streams per step, or None for a dynamic
    batch axis; `threshold`: theta of online refinement, fixed in the graph (default: the
    model's; 0 exports without refinement). A non-causal model raises `ValueError`.
    """
    config = model.config
    if not getattr(config, "causal", False):
        raise ValueError(NOT_CAUSAL)
    _check_positive("frames_per_step", frames_per_step)
    _check_positive("num_queries", num_queries)
    _check_positive("batch_size", batch_size, allow_none=True)
    threshold = resolve_threshold(config, threshold)
    check_threshold(threshold, config.num_labels)
    step = QrtseOnnxStreamingStep(model.eval(), threshold, frames_per_step).eval()
    # A dynamic batch is traced at 2, so that no axis of size 1 is mistaken for a constant.
    example_batch = batch_size or 2
    state = step.start(example_batch, num_queries)
    example_values = 0.1 * torch.randn(example_batch, step.step_samples, generator=torch.Generator().manual_seed(0))
    example_query = torch.zeros(example_batch, num_queries, config.num_labels)
    example_query[..., 0] = 1
    outputs = ["extracted_values"] + (["presence", "refined_query"] if model.classifier is not None else [])
    input_names = ["input_values", "query", *(STATE + name for name in state)]
    output_names = [*outputs, *(NEXT_STATE + name for name in state)]
    dynamic_axes = None
    if batch_size is None:
        dynamic_axes = {name: {0: "batch"} for name in ["input_values", "query", *outputs]}
        for name in state:
            dynamic_axes[STATE + name] = dynamic_axes[NEXT_STATE + name] = dynamic_axes_of(name)
    target = io.BytesIO() if path is None else str(path)
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter's deprecation notice and tracer warnings about the model's
        # Python-side checks (`bool(valid.all())`), which hold for every step of a stream.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            step,
            (example_values, example_query, *state.values()),
            target,
            dynamo=False,
            opset_version=opset,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
        )
    return target.getvalue() if path is None else path


class OnnxStreamer:
    """Runs an exported streaming step ([`export_streaming_onnx`]) with ONNX Runtime chunk by
    chunk: the ONNX counterpart of `QrtseStreamer`, whose output it gives (to float rounding) when
    the query changes only between whole steps.

    Args:
        model_or_path: the exported graph (bytes or a file path) or an ONNX Runtime session on it.
        query: `(batch, K, classes)` multi-hot, or `(K, classes)` / `(classes,)` for every stream.
        batch_size: streams per chunk (default: the graph's, or 1 for a dynamic batch).
        threads: ONNX Runtime intra-op threads when a session is opened here.
    """

    def __init__(self, model_or_path, query, batch_size: int | None = None, threads: int = 1):
        self.session = model_or_path if hasattr(model_or_path, "run") else onnx_session(model_or_path, threads)
        self._inputs = {node.name: node for node in self.session.get_inputs()}
        graph_batch, self.step_samples = self._inputs["input_values"].shape
        self.num_queries, self.num_labels = self._inputs["query"].shape[1:]
        if isinstance(graph_batch, int) and batch_size not in (None, graph_batch):
            raise ValueError(f"this graph runs {graph_batch} streams per step, not {batch_size}")
        self.batch_size = graph_batch if isinstance(graph_batch, int) else batch_size or 1
        _check_positive("batch_size", self.batch_size)
        self.skip_samples = self._inputs[STATE + "input_tail"].shape[1]  # window - hop
        self._state_names = [name for name in self._inputs if name.startswith(STATE)]
        outputs = [node.name for node in self.session.get_outputs()]
        self._output_names = [name for name in outputs if not name.startswith(NEXT_STATE)]
        self._fetch = self._output_names + [NEXT_STATE + name[len(STATE) :] for name in self._state_names]
        self.set_query(query)
        self.reset()

    def set_query(self, query) -> None:
        """Extract `query` (the constructor's forms) from the next step run on."""
        query = np.asarray(query, dtype=np.float32)
        if query.ndim == 1:
            query = query[None]
        if query.ndim == 2:
            query = np.broadcast_to(query, (self.batch_size, *query.shape))
        expected = (self.batch_size, self.num_queries, self.num_labels)
        if query.shape != expected:
            raise ValueError(f"the query must have shape {expected} (this graph's), got {query.shape}")
        self._query = np.ascontiguousarray(query)

    def reset(self) -> None:
        """Start a new stream (the query stays)."""
        self._state = {name: self._zeros(self._inputs[name]) for name in self._state_names}
        self._pending = np.zeros((self.batch_size, 0), dtype=np.float32)
        self._skip = self.skip_samples
        self.samples_in = self.samples_out = 0
        self.presence = self.refined_query = None

    def _zeros(self, node) -> np.ndarray:
        sizes = {"batch": self.batch_size, "batch_x_queries": self.batch_size * self.num_queries}
        return np.zeros([sizes.get(size, size) for size in node.shape], dtype=ONNX_DTYPES[node.type])

    def process(self, chunk) -> np.ndarray:
        """Extract from the next `chunk` `(batch, samples)` (or `(samples,)` for one stream), float
        at the model's sampling rate: the output samples now final, `(batch, K, n)` float32."""
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.ndim == 1 and self.batch_size == 1:
            chunk = chunk[None]
        if chunk.ndim != 2 or chunk.shape[0] != self.batch_size:
            raise ValueError(f"a chunk must have shape ({self.batch_size}, samples), got {chunk.shape}")
        self.samples_in += chunk.shape[-1]
        self._pending = np.concatenate([self._pending, chunk], axis=-1)
        return self._run_whole_steps()

    def flush(self) -> np.ndarray:
        """End the stream: the rest of its output (the input followed by zeros, as offline), then
        [`reset`]."""
        # Output sample t is final once the input reaches t + window - hop: at least that many
        # zeros after the last sample, to a whole step.
        missing = self.samples_in - self.samples_out
        if missing > 0:
            fill = self.skip_samples + -(self._pending.shape[-1] + self.skip_samples) % self.step_samples
            zeros = np.zeros((self.batch_size, fill), dtype=np.float32)
            self._pending = np.concatenate([self._pending, zeros], axis=-1)
        output = self._run_whole_steps()[..., :missing]
        self.reset()
        return output

    def _run_whole_steps(self) -> np.ndarray:
        outputs = [np.zeros((self.batch_size, self.num_queries, 0), dtype=np.float32)]
        while self._pending.shape[-1] >= self.step_samples:
            samples, self._pending = np.split(self._pending, [self.step_samples], axis=-1)
            feeds = {"input_values": np.ascontiguousarray(samples), "query": self._query, **self._state}
            results = self.session.run(self._fetch, feeds)
            named = dict(zip(self._fetch, results))
            self._state = {name: named[NEXT_STATE + name[len(STATE) :]] for name in self._state_names}
            self.presence, self.refined_query = named.get("presence"), named.get("refined_query")
            extracted = named["extracted_values"]
            drop = min(self._skip, extracted.shape[-1])
            self._skip -= drop
            outputs.append(extracted[..., drop:])
        output = np.concatenate(outputs, axis=-1)
        self.samples_out += output.shape[-1]
        return output
