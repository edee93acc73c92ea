"""A faster inference form of [`QrtseModel`] with the same weights and the same outputs (to float
rounding): `fast = model.optimize_for_inference()`.

What changes, and why it is faster on CPU:

- **Time-major activations.** The reference modules work on `(batch, channels, frames)`; its
  per-frame layer norm (cLN) transposes to `(batch, frames, channels)` and back, so every cLN
  costs two extra copies of the activation, and so does each 1x1 convolution that then reads the
  transposed view. Here activations live as `(batch * frames, channels)` matrices: the 1x1
  convolutions are plain GEMMs, cLN is `layer_norm` over the contiguous last axis, and the
  steps hand each other `(batch, channels, frames)` *views* of that storage, so the model's named
  steps and `analyze` / `extract` / the pipeline keep working unchanged.
- **The machine's fast GEMM.** The 1x1 convolutions run on oneDNN where PyTorch bundles it
  (about 2x MKL's float32 rate on AMD CPUs, see `gemm`), with PReLU as a GEMM post-op.
- **Fewer passes over memory.** Skip outputs and residuals accumulate inside the GEMM (oneDNN's
  add post-op, or `addmm_`) instead of in a separate sum; residual biases are moved into the next
  block's input bias; the last block's residual convolution, whose output nothing reads, is
  skipped; single-slope PReLU runs in place as `leaky_relu_`.
- **Cache-sized passes.** A batch is pushed through each TCN a few items at a time, so that the
  activations of one pass stay in the last-level cache instead of streaming through DRAM.
- **The BiGRU in ONNX Runtime** (when installed): the classifier's recurrence is a loop of tiny
  GEMVs that PyTorch dispatches op by op.
- **bfloat16 GEMMs** (`dtype=torch.bfloat16`, on CPUs with native bf16): the TCN GEMMs take bf16
  weights (fused once) and bf16-rounded activations, at about twice the float32 rate; their
  products are widened to float32 at once, so the residual and skip sums, layer norms, PReLU, the
  depthwise convolution, the mask, encoder, decoder and classifier stay float32 (see `gemm`).

The fused weights are a snapshot: non-persistent buffers derived from the parameters, which stay
in place, so `state_dict()` and `save_pretrained` are those of the original model. In training
mode or with autograd enabled every module falls back to the reference computation. Only cLN
models are fused (gLN normalises over the whole clip and keeps the reference TCN).

Causal models (`QrtseConfig(causal=True)`) take the same paths: their depthwise convolution is the
same kernel with `padding` (P-1) x d, all of it in the past. The fused TCN also takes a stream's
block contexts (`past`), so a `QrtseStreamer` runs on the optimised model.
"""

import copy
import importlib.util
import io
import warnings
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from ..classifier_qrtse import QrtseClassifier, pool_frames
from ..encoder_decoder_qrtse import QrtseDecoder, QrtseEncoder
from ..tcn_qrtse import QrtseTemporalConvNet, zero_padding
from .depthwise import depthwise_forward, depthwise_with_context
from .gemm import ONEDNN_MIN_ROWS, gemm_dtype, linear, linear_add
from .onnx_runtime import onnx_session

# Frames (x channels) per TCN pass: 8 items of 6 s at the paper's 400 frames/s would stream ~40 MB
# per hidden activation through DRAM; passes of <= 4800 frames keep each under the L3 of a
# typical server core complex (32 MB here) with room for the few tensors alive at once.
DEFAULT_FRAMES_PER_PASS = 4800

# GEMM row counts are rounded up to a multiple of this: oneDNN's fp32 kernels ran 20% slower on
# the odd row counts that 6 s clips give (2401 frames: ~400 GFLOP/s; 2400 or 2408: ~490, on the
# 2-core EPYC). The extra rows are zeros, stay independent of the real ones and are dropped.
# Fewer rows than oneDNN takes (a stream's chunk) go to MKL unpadded: padding there only costs.
GEMM_ROW_MULTIPLE = 8


def padded_rows_of(rows: int) -> int:
    """`rows` rounded up to `GEMM_ROW_MULTIPLE`, or `rows` itself below `ONEDNN_MIN_ROWS`."""
    return rows if rows < ONEDNN_MIN_ROWS else -(-rows // GEMM_ROW_MULTIPLE) * GEMM_ROW_MULTIPLE


def _fast(module: nn.Module) -> bool:
    """Take the fused path only where it computes the same function: eval mode, no autograd."""
    return not module.training and not torch.is_grad_enabled()


def padded_matrix(like: torch.Tensor, padded_rows: int, rows: int, columns: int) -> torch.Tensor:
    """An uninitialised `(padded_rows, columns)` matrix whose rows past `rows` are zero."""
    matrix = like.new_empty(padded_rows, columns)
    matrix[rows:].zero_()
    return matrix


def time_major(features: torch.Tensor) -> torch.Tensor:
    """`(batch, channels, frames)` -> contiguous `(batch, frames, channels)`; free when the input
    is already a view of time-major storage, as everything the fused modules return is."""
    return features.transpose(1, 2).contiguous()


def onnxruntime_session(
    module: nn.Module, example: torch.Tensor, frames_axis: int, threads: int, state: torch.Tensor | None = None
):
    """`module` exported to ONNX in memory (dynamic batch axis and `frames_axis`) and opened in an
    ONNX Runtime CPU session; None without onnxruntime or off CPU float32. With a `state` example
    (a recurrent layer's `(layers, batch, hidden)` initial state) the graph takes it as a second
    input, "state", and returns the final one as a second output, "state_out"."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    parameter = next(module.parameters())
    if parameter.device.type != "cpu" or parameter.dtype != torch.float32:
        return None
    buffer = io.BytesIO()
    axes = {0: "batch", frames_axis: "frames"}
    names, dynamic_axes = (["input"], ["output"]), {"input": axes, "output": axes}
    if state is not None:
        names = (["input", "state"], ["output", "state_out"])
        dynamic_axes.update(state={1: "batch"}, state_out={1: "batch"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            module.eval(),
            (example,) if state is None else (example, state),
            buffer,
            dynamo=False,
            opset_version=17,
            input_names=names[0],
            output_names=names[1],
            dynamic_axes=dynamic_axes,
        )
    return onnx_session(buffer.getvalue(), threads)


def run_session(session, tensor: torch.Tensor) -> torch.Tensor:
    """One ONNX Runtime call; tensors pass to and from numpy without copies."""
    return torch.from_numpy(session.run(None, {"input": tensor.contiguous().numpy()})[0])


class CopiesSession:
    """Deep copies reopen the ONNX Runtime sessions (a session cannot be copied)."""

    # Sessions, and views made from the buffers (remade from the copy's own on first use).
    NOT_COPIED = ("fused_session", "fused_step_session", "_block_weights_cache")

    def __deepcopy__(self, memo):
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        state = {name: value for name, value in self.__dict__.items() if name not in self.NOT_COPIED}
        clone.__dict__.update(copy.deepcopy(state, memo))
        sessions = [name for name in self.NOT_COPIED if name.endswith("session") and name in self.__dict__]
        clone.__dict__.update(dict.fromkeys(sessions))  # None until fuse() opens the copy's own
        return clone.fuse() if any(self.__dict__[name] is not None for name in sessions) else clone


class ReferenceForward(nn.Module):
    """Exports a fast module's reference computation (its parent class's forward)."""

    def __init__(self, module: nn.Module, reference_class):
        super().__init__()
        self.module, self.reference_class = module, reference_class

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.reference_class.forward(self.module, features)


class QrtseFastEncoder(QrtseEncoder):
    """Eq. (1) as one GEMM of overlapping frames with the filters, written time-major (a stream's
    chunks too: `frames_of`)."""

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.forward_gemm(waveform) if _fast(self) else super().forward(waveform)

    def frames_of(self, samples: torch.Tensor) -> torch.Tensor:
        return self.frames_gemm(samples) if _fast(self) else super().frames_of(samples)


class QrtseFastDecoder(QrtseDecoder):
    """Eq. (5) as one GEMM to overlapping frames and an overlap-add (`fold`), a stream's chunks too."""

    def forward(self, masked_features: torch.Tensor, num_samples: int) -> torch.Tensor:
        return (
            self.forward_gemm(masked_features, num_samples)
            if _fast(self)
            else super().forward(masked_features, num_samples)
        )

    def overlap_add(self, masked_features: torch.Tensor) -> torch.Tensor:
        return self.overlap_add_gemm(masked_features) if _fast(self) else super().overlap_add(masked_features)


# The per-block stacks of `QrtseFastTemporalConvNet.fuse`, without their "fused_" prefix.
BLOCK_BUFFERS = (
    "in_weight",
    "in_bias",
    "in_norm_weight",
    "in_norm_bias",
    "depthwise_taps",
    "depthwise_bias",
    "depthwise_norm_weight",
    "depthwise_norm_bias",
    "skip_weight",
    "residual_weight",
)


class BlockWeights(NamedTuple):
    """One block's fused weights (the `BLOCK_BUFFERS`, in that order)."""

    in_weight: torch.Tensor
    in_bias: torch.Tensor
    in_norm_weight: torch.Tensor
    in_norm_bias: torch.Tensor
    taps: torch.Tensor
    depthwise_bias: torch.Tensor
    depthwise_norm_weight: torch.Tensor
    depthwise_norm_bias: torch.Tensor
    skip_weight: torch.Tensor
    residual_weight: torch.Tensor


class QrtseFastTemporalConvNet(CopiesSession, QrtseTemporalConvNet):
    """The TCN of `tcn_qrtse` on `(batch * frames, channels)` matrices; see the module docstring.

    Call [`fuse`] after the weights are loaded (`optimize_for_inference` does)."""

    frames_per_pass = DEFAULT_FRAMES_PER_PASS
    onnxruntime_threads = 0  # > 0: run the TCN in ONNX Runtime with this many threads
    onednn_gemm = True  # GEMMs through oneDNN where available (see gemm)
    gemm_dtype = torch.float32  # torch.bfloat16: bf16 GEMMs, everything else float32

    @torch.no_grad()
    def fuse(self) -> "QrtseFastTemporalConvNet":
        """Derive the fused weights from the current parameters (again after changing them)."""
        self.__dict__.pop("_block_weights_cache", None)  # views of the buffers replaced below
        self.fused_session = None
        if self.onnxruntime_threads > 0 and isinstance(self.input_norm, nn.LayerNorm):
            example = torch.zeros(1, self.input_norm.normalized_shape[0], 16)
            reference = ReferenceForward(self, QrtseTemporalConvNet)
            self.fused_session = onnxruntime_session(reference, example, 2, self.onnxruntime_threads)
        blocks = list(self.blocks)
        # Residual biases carried forward: the true hidden state is `hidden + offset`, so block i's
        # input bias absorbs W_in @ offset_i and no pass over the hidden state adds them.
        offset = torch.zeros(blocks[0].residual_conv.out_channels, dtype=torch.float64)
        in_biases = []
        for block in blocks:
            weight = block.in_conv.weight[..., 0].double()
            in_biases.append(block.in_conv.bias.double() + weight @ offset)
            offset = offset + block.residual_conv.bias.double()
        dtype = blocks[0].in_conv.weight.dtype

        def stack(tensors):
            return torch.stack([tensor.to(dtype) for tensor in tensors])

        # GEMM weights stay (out, in), the layout both oneDNN and `F.linear` take.
        buffers = {
            "fused_bottleneck_weight": self.bottleneck.weight[..., 0],
            "fused_bottleneck_bias": self.bottleneck.bias,
            "fused_output_weight": self.output_conv.weight[..., 0],
            "fused_output_bias": self.output_conv.bias,
            "fused_in_weight": stack([b.in_conv.weight[..., 0] for b in blocks]),
            "fused_in_bias": stack(in_biases),
            "fused_in_norm_weight": stack([b.in_norm.weight for b in blocks]),
            "fused_in_norm_bias": stack([b.in_norm.bias for b in blocks]),
            # Depthwise taps as (tap, channel) rows for broadcasting over (batch, frames, channel).
            "fused_depthwise_taps": stack([b.depthwise_conv.weight[:, 0, :].t() for b in blocks]),
            "fused_depthwise_bias": stack([b.depthwise_conv.bias for b in blocks]),
            "fused_depthwise_norm_weight": stack([b.depthwise_norm.weight for b in blocks]),
            "fused_depthwise_norm_bias": stack([b.depthwise_norm.bias for b in blocks]),
            "fused_residual_weight": stack([b.residual_conv.weight[..., 0] for b in blocks]),
            "fused_skip_weight": stack([b.skip_conv.weight[..., 0] for b in blocks]),
            # All skip biases enter the skip sum once, through the first block's GEMM.
            "fused_skip_bias": sum(b.skip_conv.bias.double() for b in blocks).to(dtype),
        }
        gemm_operands = {
            f"fused_{name}_{kind}"
            for name in ("bottleneck", "output", "in", "residual", "skip")
            for kind in ("weight", "bias")
        }
        for name, value in buffers.items():
            if name in gemm_operands:  # rounded once here, not at every call
                value = value.to(self.gemm_dtype)
            self.register_buffer(name, value.detach().contiguous(), persistent=False)
        self.fused_slopes = [(float(b.in_act.weight), float(b.depthwise_act.weight)) for b in blocks]
        self.fused_output_slope = float(self.output_act.weight)
        return self

    def forward(
        self, features: torch.Tensor, frame_mask: torch.Tensor | None = None, past: list | None = None
    ) -> torch.Tensor:
        """As [`QrtseTemporalConvNet.forward`]; `past` (causal TCNs in a stream): one context per
        block `(batch, H, context_frames)`, None at the start, each replaced by this call's."""
        if not _fast(self) or not hasattr(self, "fused_slopes") or not self._fusable():
            return super().forward(features, frame_mask, past)
        # Non-causal blocks read no context (as in the reference, their entries stay as they are).
        past = past if past is not None and self.blocks[0].causal else None
        on_cpu = features.dtype == torch.float32 and features.device.type == "cpu"
        if self.fused_session is not None and frame_mask is None and past is None and on_cpu:  # no mask, no contexts
            return run_session(self.fused_session, features)
        batch, _, frames = features.shape
        items = max(1, self.frames_per_pass // max(frames, 1))
        hidden = time_major(features)
        outputs, contexts = [], []
        for start in range(0, batch, items):
            items_past = None if past is None else [None if c is None else c[start : start + items] for c in past]
            mask = None if frame_mask is None else frame_mask[start : start + items]
            outputs.append(self._forward_time_major(hidden[start : start + items], mask, items_past))
            contexts.append(items_past)
        if past is not None:
            past[:] = [parts[0] if len(parts) == 1 else torch.cat(parts) for parts in zip(*contexts)]
        output = outputs[0] if len(outputs) == 1 else torch.cat(outputs)
        return output.transpose(1, 2)

    def _fusable(self) -> bool:
        return isinstance(self.input_norm, nn.LayerNorm) and all(
            b.in_act.weight.numel() == 1 and b.depthwise_act.weight.numel() == 1 for b in self.blocks
        )

    def _forward_time_major(
        self, features: torch.Tensor, frame_mask: torch.Tensor | None = None, past: list | None = None
    ) -> torch.Tensor:
        """`(batch, frames, in_channels)` contiguous -> `(batch, frames, out_channels)`; `frame_mask`
        `(batch, frames)` and `past` (a causal TCN's block contexts, replaced) as for [`forward`]."""
        batch, frames, channels = features.shape
        eps, onednn, low = self.input_norm.eps, self.onednn_gemm, self.gemm_dtype
        rows = batch * frames
        padded_rows = padded_rows_of(rows)
        normalized = F.layer_norm(
            features.view(rows, channels), (channels,), self.input_norm.weight, self.input_norm.bias, eps
        )
        if padded_rows > rows:
            unpadded, normalized = normalized, padded_matrix(features, padded_rows, rows, channels)
            normalized[:rows] = unpadded
        # `.to(low)` rounds a GEMM's input to the GEMM dtype and `.float()` widens its product back;
        # both return the tensor itself in float32.
        hidden = linear(normalized.to(low), self.fused_bottleneck_weight, self.fused_bottleneck_bias, onednn=onednn)
        hidden = hidden.float()
        last = len(self.blocks) - 1
        skip_sum = filtered = None
        for index, weights in enumerate(self._block_weights()):
            in_slope, depthwise_slope = self.fused_slopes[index]
            # The block's PReLU runs inside the GEMM (oneDNN post-op) or in place after it.
            block_states = linear(
                hidden.to(low), weights.in_weight, weights.in_bias, leaky_slope=in_slope, onednn=onednn
            )
            width = block_states.shape[-1]
            block_states = F.layer_norm(
                block_states.float(), (width,), weights.in_norm_weight, weights.in_norm_bias, eps
            )
            if filtered is None:  # one buffer for every block: same width, padding rows stay zero
                filtered = padded_matrix(block_states, padded_rows, rows, width)
            states = zero_padding(block_states[:rows].view(batch, frames, width), frame_mask, frame_axis=1)
            out = filtered[:rows].view(batch, frames, width)
            conv = self.blocks[index].depthwise_conv
            if past is None:
                depthwise_forward(
                    states, weights.taps, weights.depthwise_bias, conv.dilation[0], conv.padding[0], out=out
                )
            else:
                past[index] = self._depthwise_streamed(states, weights, conv, past[index], out=out)
            block_states = F.layer_norm(
                F.leaky_relu_(filtered, depthwise_slope),
                (width,),
                weights.depthwise_norm_weight,
                weights.depthwise_norm_bias,
                eps,
            )
            block_states = block_states.to(low)
            if skip_sum is None:
                skip_sum = linear(block_states, weights.skip_weight, self.fused_skip_bias, onednn=onednn)
                skip_sum = skip_sum.float()
            else:
                skip_sum = self._accumulate(block_states, skip_sum, weights.skip_weight)
            if index < last:  # the last block's residual output is never read
                hidden = self._accumulate(block_states, hidden, weights.residual_weight)
        output = linear(
            F.leaky_relu_(skip_sum, self.fused_output_slope).to(low),
            self.fused_output_weight,
            self.fused_output_bias,
            onednn=onednn,
        )
        return output[:rows].view(batch, frames, -1).float()

    def _accumulate(self, inputs: torch.Tensor, accumulator: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """`accumulator + inputs @ weight.T`: in float32 inside the GEMM (add post-op), else a bf16
        product added to the float32 accumulator in place (a bf16 sum would round at every block)."""
        if self.gemm_dtype == torch.float32:
            return linear_add(inputs, accumulator, weight, onednn=self.onednn_gemm)
        return accumulator.add_(linear(inputs, weight, None, onednn=self.onednn_gemm))

    def _block_weights(self) -> list:
        """Each block's fused weights (`BlockWeights`, views of the stacked buffers), made once
        and again after the buffers move (`_apply`): indexing the stacks in every call cost ~10
        dispatches a block, a visible share of a stream's chunk."""
        cached = self.__dict__.get("_block_weights_cache")
        if cached is None:
            stacks = [getattr(self, "fused_" + name) for name in BLOCK_BUFFERS]
            cached = [BlockWeights(*views) for views in zip(*(stack.unbind(0) for stack in stacks))]
            self.__dict__["_block_weights_cache"] = cached
        return cached

    def _apply(self, fn, *args, **kwargs):
        self.__dict__.pop("_block_weights_cache", None)  # the buffers are replaced
        return super()._apply(fn, *args, **kwargs)

    @staticmethod
    def _depthwise_streamed(
        states: torch.Tensor, weights: "BlockWeights", conv: nn.Conv1d, context: torch.Tensor | None, out: torch.Tensor
    ) -> torch.Tensor:
        """A causal block's depthwise convolution of a stream's chunk `(batch, frames, channels)`
        into `out`, reading the `context` `(batch, channels, padding)` of input frames before it
        (None: zeros, the stream's start). Returns the context after the chunk, in the same layout
        (`QrtseConvBlock._context_after`): a view of time-major storage, which the next chunk
        reads without a copy."""
        if context is None:
            context = states.new_zeros(states.shape[0], states.shape[2], conv.padding[0])
        # A new tensor: the returned context is a view of it and aliases no buffer of this module.
        extended = torch.cat([context.transpose(1, 2), states], dim=1)
        depthwise_with_context(extended, weights.taps, weights.depthwise_bias, conv.dilation[0], out=out)
        return extended[:, states.shape[1] :].transpose(1, 2)


class QrtseFastClassifier(CopiesSession, QrtseClassifier):
    """Eq. (6) with the GRU run by ONNX Runtime when it is installed.

    A GRU is a sequential loop of tiny GEMVs; PyTorch dispatches ~10 ops per frame and direction,
    ONNX Runtime runs the loop in C++ (about 3.5x faster at batch 1 on a 2-core EPYC). Without
    onnxruntime, for a BiGRU's padded batches (packed sequences) and off CPU float32 the
    reference GRU runs.

    A causal model's unidirectional GRU exports to the same ONNX `GRU` operator (direction
    "forward"), so it needs nothing of its own offline; its padded batches use the session too,
    since its reference reads the padding unpacked. A stream's chunk (`past`) carries the hidden
    state in and out: a second graph, with the state as an input and an output, runs those (a
    chunk of a few frames cost ~0.3 ms in `nn.GRU`, ~0.07 ms in ONNX Runtime).
    """

    @torch.no_grad()
    def fuse(self) -> "QrtseFastClassifier":
        """Export the GRU to ONNX in memory and open a one-thread session on it (the loop is
        sequential; a second thread only adds synchronisation); a causal GRU's stream step too."""
        example = torch.zeros(1, 8, self.gru.input_size)
        self.fused_session = onnxruntime_session(self.gru, example, 1, threads=1)
        self.fused_step_session = None
        if self.causal and self.fused_session is not None:
            state = torch.zeros(self.gru.num_layers, 1, self.gru.hidden_size)
            self.fused_step_session = onnxruntime_session(StatefulGRU(self.gru), example, 1, threads=1, state=state)
        return self

    def forward(
        self, shared_features: torch.Tensor, frame_mask: torch.Tensor, past: list | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        packed = not self.causal and bool((frame_mask.sum(1) < frame_mask.shape[1]).any())
        session = getattr(self, "fused_session" if past is None else "fused_step_session", None)
        usable = session is not None and shared_features.dtype == torch.float32
        if not _fast(self) or packed or not usable or shared_features.device.type != "cpu":
            return super().forward(shared_features, frame_mask, past)
        sequence = time_major(shared_features)
        if past is None:
            hidden = run_session(session, sequence)
        else:
            state = past[0]
            if state is None:  # the stream's start
                state = sequence.new_zeros(self.gru.num_layers, sequence.shape[0], self.gru.hidden_size)
            feeds = {"input": sequence.numpy(), "state": state.contiguous().numpy()}
            hidden, last = (torch.from_numpy(array) for array in session.run(None, feeds))
            past[0] = last
        frame_probabilities = torch.sigmoid(self.frame_logits(hidden))
        return pool_frames(frame_probabilities, frame_mask, self.pooling), frame_probabilities


class StatefulGRU(nn.Module):
    """`gru(input, state) -> (output, final state)`: the form exported for a stream's chunks."""

    def __init__(self, gru: nn.GRU):
        super().__init__()
        self.gru = gru

    def forward(self, sequence: torch.Tensor, state: torch.Tensor) -> tuple:
        return self.gru(sequence, state)


def _replace(module: nn.Module, fast_class, *args, **attributes) -> nn.Module:
    fast = fast_class(*args)
    fast.load_state_dict(module.state_dict())
    for name, value in attributes.items():
        setattr(fast, name, value)
    fast.to(next(module.parameters()).device)
    if hasattr(fast, "fuse"):
        fast.fuse()
    return fast.eval()


def optimize_for_inference(
    model,
    frames_per_pass: int = DEFAULT_FRAMES_PER_PASS,
    onnxruntime_gru: bool = True,
    onnxruntime_tcn: bool = False,
    onednn_gemm: bool = True,
    dtype=torch.float32,
):
    """Return an inference copy of `model` (a `QrtseModel`) whose modules take the fused path
    under `torch.no_grad()` / `torch.inference_mode()` in eval mode; `model` is left untouched.

    Outputs equal the reference within float rounding (tested to 1e-4). The fused weights are a
    snapshot: optimise again after changing the weights. `frames_per_pass` bounds the frames of
    one TCN pass (see `DEFAULT_FRAMES_PER_PASS`); `onnxruntime_gru=False` keeps PyTorch's BiGRU;
    `onednn_gemm=False` runs the TCN GEMMs through `torch.addmm` (MKL) instead of oneDNN.

    `onnxruntime_tcn=True` runs the two TCNs in ONNX Runtime instead (`torch.get_num_threads()`
    threads). Its MLAS GEMMs are as fast as oneDNN's, but end to end it was about 2x slower than
    the fused PyTorch TCN on the 2-core EPYC we measured (unfused norms, layout changes) and its
    peak memory on 30 s pipeline chunks was ~3x higher, so it is off by default (see the README's
    inference section).

    `dtype=torch.bfloat16` (or `"bfloat16"`) runs the TCN GEMMs in bf16 on CPUs with native bf16
    (module docstring): about twice the GEMM rate; outputs then differ from float32 by bf16
    rounding (~1e-2 relative, see `tests/modeling_qrtse/kernels/test_bf16.py`). Elsewhere it stays float32
    with a one-time warning (`gemm.gemm_dtype`). Not with `onnxruntime_tcn` (float32 graphs).
    """
    config = model.config
    low = gemm_dtype(dtype, next(model.parameters()).device)
    if low != torch.float32 and onnxruntime_tcn:
        raise ValueError("onnxruntime_tcn runs float32 graphs: it cannot be combined with dtype=bfloat16")
    fast = copy.deepcopy(model).eval()
    fast.encoder = _replace(model.encoder, QrtseFastEncoder, config)
    fast.decoder = _replace(model.decoder, QrtseFastDecoder, config)
    if config.norm_type == "cLN":
        tcns = {
            "shared_extractor": (
                config.encoder_filters,
                config.feature_channels,
                config.shared_blocks,
                config.shared_repeats,
            ),
            "mask_estimator": (
                config.feature_channels,
                config.encoder_filters,
                config.mask_blocks,
                config.mask_repeats,
            ),
        }
        for name, shape in tcns.items():
            tcn = _replace(
                getattr(model, name),
                QrtseFastTemporalConvNet,
                config,
                *shape,
                frames_per_pass=frames_per_pass,
                onnxruntime_threads=torch.get_num_threads() if onnxruntime_tcn else 0,
                onednn_gemm=onednn_gemm,
                gemm_dtype=low,
            )
            setattr(fast, name, tcn)
    if model.classifier is not None and onnxruntime_gru:
        fast.classifier = _replace(model.classifier, QrtseFastClassifier, config)
    return fast
