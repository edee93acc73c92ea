"""A faster training form of [`QrtseModel`] on CPU, forward and backward, with the reference's
parameters, gradients and `state_dict`: `optimize_for_training(model)`.

The eager modules spend most of a CPU training step outside the GEMMs: `conv1d(groups=H)`'s
backward, the transposes around every per-frame layer norm (cLN) and PyTorch's PReLU backward.
Here, as in `fast_inference`, activations live time-major, as `(batch * frames, channels)`
matrices, and the modules hand each other `(batch, channels, frames)` views of that storage:

- the 1x1 convolutions are GEMMs ([`gemm.Linear`]: forward and input gradient on oneDNN,
  weight gradient on MKL), with the skip and residual sums added inside the GEMM;
- cLN is `layer_norm` over the contiguous last axis, forward and backward, with no transposes;
- the dilated depthwise convolution is one multiply-add per tap, forward and backward
  ([`depthwise`]);
- PReLU's backward is two fused passes ([`PReLU`]) instead of PyTorch's generic kernel;
- the classifier's GRU (the BiGRU, or a causal model's unidirectional GRU) has a hand-written
  backward ([`bigru`]);
- encoder and decoder are one GEMM each over overlapping frames (`unfold` / `fold`);
- the last block's residual convolution, whose output nothing reads, is skipped (in the
  reference it is computed but receives no gradient either);
- with `dtype=torch.bfloat16` (mixed precision, on CPUs with native bf16) the TCN GEMMs and the
  BiGRU's input-projection GEMMs run in bf16 ([`gemm.MixedPrecisionLinear`]); parameters,
  gradients, optimizer state, activations, layer norms, PReLU, the depthwise convolution, the
  GRU recurrence, encoder, decoder, pooling, sigmoid and losses stay float32.

Unlike `optimize_for_inference`, nothing is a snapshot: the modules read their live parameters,
so an optimizer keeps stepping the same `nn.Parameter` objects. The swap is in place and keeps
every parameter object, so it may happen before or after the optimizer is built. Off CPU, for
gLN models, or with channel-wise PReLU slopes, the reference computation runs unchanged.

Causal models (`QrtseConfig(causal=True)`) train through the same kernels: their depthwise
convolution is the same one with `padding` (P-1) x d, all of it in the past, and their
classifier's unidirectional GRU is [`bigru`]'s layer with one direction. A stream's carried
state (`past`) is an inference matter: given one, a module runs its reference computation.
"""

import torch
from torch import nn
from torch.nn import functional as F

from ..classifier_qrtse import QrtseClassifier, pool_frames
from ..encoder_decoder_qrtse import QrtseDecoder, QrtseEncoder
from ..tcn_qrtse import QrtseTemporalConvNet, zero_padding
from .bigru import gru_forward
from .depthwise import DepthwiseConvolution
from .fast_inference import time_major
from .gemm import gemm_dtype, trainable_linear


def _fast_training(tensor: torch.Tensor) -> bool:
    # Only CPU float32 takes the fused kernels; anything else (CUDA, autocast to bf16, float64
    # gradient checks) runs the reference modules, which stay valid everywhere.
    return tensor.device.type == "cpu" and tensor.dtype == torch.float32 and not torch.is_autocast_enabled("cpu")


class PReLU(torch.autograd.Function):
    """Single-slope PReLU as `leaky_relu` with the slope's current value, forward and backward
    (one vectorised pass each), plus the slope's gradient as one dot product. PyTorch's generic
    PReLU kernels (and `torch.where` with a broadcast slope) take about 3x as long here."""

    @staticmethod
    def forward(ctx, inputs, slope):
        ctx.save_for_backward(inputs)
        ctx.slope = float(slope)
        return F.leaky_relu(inputs, ctx.slope)

    @staticmethod
    def backward(ctx, grad):
        (inputs,) = ctx.saved_tensors
        grad = grad.contiguous()
        grad_slope = torch.dot(grad.reshape(-1), inputs.clamp_max(0).reshape(-1)).reshape(1)
        grad_inputs = torch.ops.aten.leaky_relu_backward(grad, inputs, ctx.slope, False)
        return grad_inputs, grad_slope


def prelu(inputs: torch.Tensor, activation: nn.PReLU) -> torch.Tensor:
    return PReLU.apply(inputs, activation.weight)


def _layer_norm(inputs: torch.Tensor, norm: nn.LayerNorm) -> torch.Tensor:
    return F.layer_norm(inputs, norm.normalized_shape, norm.weight, norm.bias, norm.eps)


def _matrix(conv: nn.Conv1d) -> torch.Tensor:
    """A 1x1 convolution's weight `(out, in, 1)` as the `(out, in)` GEMM operand (a view)."""
    return conv.weight[..., 0]


class QrtseTrainingTemporalConvNet(QrtseTemporalConvNet):
    """The TCN of `tcn_qrtse`, computed time-major with the kernels listed in the module docstring."""

    onednn_gemm = True
    gemm_dtype = torch.float32  # torch.bfloat16: mixed precision (see the module docstring)

    def forward(
        self, features: torch.Tensor, frame_mask: torch.Tensor | None = None, past: list | None = None
    ) -> torch.Tensor:
        if past is not None or not (_fast_training(features) and self._fusable()):
            return super().forward(features, frame_mask, past)
        batch, _, frames = features.shape
        output = self._forward_rows(time_major(features).view(batch * frames, -1), batch, frame_mask)
        return output.view(batch, frames, -1).transpose(1, 2)

    def _fusable(self) -> bool:
        return (
            isinstance(self.input_norm, nn.LayerNorm)
            and all(
                block.in_act.weight.numel() == 1 and block.depthwise_act.weight.numel() == 1 for block in self.blocks
            )
            and self.output_act.weight.numel() == 1
        )

    def _forward_rows(self, rows: torch.Tensor, batch: int, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
        """`(batch * frames, in_channels)` -> `(batch * frames, out_channels)`; only the depthwise
        convolution needs to know where one item's frames end (and, in a padded batch, where its
        valid frames end: `frame_mask` `(batch, frames)`)."""
        onednn, dtype = self.onednn_gemm, self.gemm_dtype
        hidden = trainable_linear(
            _layer_norm(rows, self.input_norm),
            _matrix(self.bottleneck),
            self.bottleneck.bias,
            onednn=onednn,
            dtype=dtype,
        )
        skip_sum = None
        last = len(self.blocks) - 1
        for index, block in enumerate(self.blocks):
            states = prelu(
                trainable_linear(hidden, _matrix(block.in_conv), block.in_conv.bias, onednn=onednn, dtype=dtype),
                block.in_act,
            )
            states = _layer_norm(states, block.in_norm)
            conv = block.depthwise_conv
            filtered = DepthwiseConvolution.apply(
                zero_padding(states.view(batch, -1, states.shape[-1]), frame_mask, frame_axis=1),
                conv.weight[:, 0, :].t(),
                conv.bias,
                conv.dilation[0],
                conv.padding[0],
            )
            states = _layer_norm(prelu(filtered.view(states.shape), block.depthwise_act), block.depthwise_norm)
            skip_sum = trainable_linear(
                states, _matrix(block.skip_conv), block.skip_conv.bias, skip_sum, onednn=onednn, dtype=dtype
            )
            if index < last:
                hidden = trainable_linear(
                    states, _matrix(block.residual_conv), block.residual_conv.bias, hidden, onednn=onednn, dtype=dtype
                )
        return trainable_linear(
            prelu(skip_sum, self.output_act),
            _matrix(self.output_conv),
            self.output_conv.bias,
            onednn=onednn,
            dtype=dtype,
        )


class QrtseTrainingEncoder(QrtseEncoder):
    """Eq. (1) as one GEMM of overlapping frames with the filters, written time-major."""

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.forward_gemm(waveform) if _fast_training(waveform) else super().forward(waveform)


class QrtseTrainingDecoder(QrtseDecoder):
    """Eq. (5) as one GEMM to overlapping frames and an overlap-add (`fold`)."""

    def forward(self, masked_features: torch.Tensor, num_samples: int) -> torch.Tensor:
        if not _fast_training(masked_features):
            return super().forward(masked_features, num_samples)
        return self.forward_gemm(masked_features, num_samples)


class QrtseTrainingClassifier(QrtseClassifier):
    """Eq. (6) with the GRU of [`bigru`]. A BiGRU's padded batches (packed sequences) run the
    reference; a causal classifier's run here too, since its reference reads the padding unpacked,
    after each item's frames, as this GRU does."""

    gemm_dtype = torch.float32  # of the GRU's input projections (see `gru_forward`)

    def forward(
        self, shared_features: torch.Tensor, frame_mask: torch.Tensor, past: list | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        packed = not self.causal and bool((frame_mask.sum(1) < frame_mask.shape[1]).any())
        # `past` (a stream's hidden state) would need a nonzero initial state, which the kernel lacks.
        reference = past is not None or packed or self.gru.dropout or not self.gru.bias
        if reference or not _fast_training(shared_features):
            return super().forward(shared_features, frame_mask, past)
        hidden = gru_forward(self.gru, shared_features.transpose(1, 2), self.gemm_dtype)
        frame_probabilities = torch.sigmoid(self.frame_logits(hidden))
        return pool_frames(frame_probabilities, frame_mask, self.pooling), frame_probabilities


_TRAINING_CLASSES = {
    QrtseClassifier: QrtseTrainingClassifier,
    QrtseTemporalConvNet: QrtseTrainingTemporalConvNet,
    QrtseEncoder: QrtseTrainingEncoder,
    QrtseDecoder: QrtseTrainingDecoder,
}


def optimize_for_training(model, onednn_gemm: bool = True, dtype=torch.float32):
    """Switch `model`'s encoder, TCNs, classifier and decoder to the fast training modules, in place; returns
    `model`. Parameters (the same objects), buffers, `state_dict` and outputs are unchanged;
    gradients equal the reference's to float rounding (tested to 1e-4 relative error).

    The training classes subclass the reference ones and add no state, so swapping a module's class
    is all it takes. `onednn_gemm=False` runs every float32 GEMM through `torch.mm` / `addmm` (MKL).

    `dtype=torch.bfloat16` (or `"bfloat16"`) trains in mixed precision: the GEMMs in bf16, all else
    float32 (module docstring); gradients then agree with float32's to bf16 rounding (cosine
    similarity of the whole gradient >= 0.999 on the shipped model, see `tests/modeling_qrtse/
    test_bf16.py` for the per-parameter bounds and why they are looser). It takes effect on CPUs
    with native bf16 only; elsewhere the GEMMs stay float32 with a one-time warning
    (`gemm.gemm_dtype`). Use it instead of, not with, `torch.autocast`: under autocast the
    reference modules run.
    """
    parameter = next(model.parameters(), None)
    resolved = gemm_dtype(dtype, None if parameter is None else parameter.device)
    for module in model.modules():
        training_class = _TRAINING_CLASSES.get(type(module))
        if training_class is not None:
            module.__class__ = training_class
        if isinstance(module, QrtseTrainingTemporalConvNet):
            module.onednn_gemm = onednn_gemm
        if isinstance(module, (QrtseTrainingTemporalConvNet, QrtseTrainingClassifier)):
            module.gemm_dtype = resolved
    return model
