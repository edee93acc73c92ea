"""The GEMMs of the fused inference path, on oneDNN where that is faster than PyTorch's default.

PyTorch's CPU wheels run `torch.mm` / `addmm` / `F.linear` in float32 through MKL, which takes
its AVX2 code path on AMD processors; oneDNN (bundled with PyTorch as `torch.ops.mkldnn`, the
kernels `torch.compile` uses for CPU linear layers) picks its kernels from the CPU's feature flags
and runs AVX-512 there. On the 2-core AMD EPYC this project is measured on, the 1x1-convolution
shapes of the TCNs run at ~205 GFLOP/s through MKL and ~400-450 GFLOP/s through oneDNN, which also
applies the following leaky ReLU or residual add in the same pass over the output.

`_linear_pointwise` is a private operator of PyTorch, so it is used only after
`onednn_linear_available()` has checked that it exists and computes the same product as
`F.linear`; everywhere else (other builds, GPUs, other dtypes, autograd) the same functions fall
back to `F.linear` / `torch.addmm`.
"""

from functools import lru_cache

import torch
from torch.nn import functional as F


@lru_cache(maxsize=1)
def onednn_linear_available() -> bool:
    """Whether `torch.ops.mkldnn._linear_pointwise` exists here and agrees with `F.linear`."""
    if not torch.backends.mkldnn.is_available() or not hasattr(torch.ops.mkldnn, "_linear_pointwise"):
        return False
    generator = torch.Generator().manual_seed(0)
    inputs, weight, bias, other = (
        torch.randn(shape, generator=generator) for shape in ((16, 8), (4, 8), (4,), (16, 4))
    )
    try:
        with torch.no_grad():
            plain = torch.ops.mkldnn._linear_pointwise(inputs, weight, bias, "none", [], "")
            added = torch.ops.mkldnn._linear_pointwise.binary(inputs, other, weight, bias, "add")
            # Transposed (non-contiguous) operands, as the training path's weight gradients pass them.
            transposed = torch.ops.mkldnn._linear_pointwise(other.t(), inputs.t(), None, "none", [], "")
    except (RuntimeError, NotImplementedError):
        return False
    expected = F.linear(inputs, weight, bias)
    return (
        torch.allclose(plain, expected, atol=1e-5)
        and torch.allclose(added, expected + other, atol=1e-5)
        and torch.allclose(transposed, other.t() @ inputs, atol=1e-5)
    )


def _use_onednn(inputs: torch.Tensor, enabled: bool) -> bool:
    return (
        enabled
        and inputs.device.type == "cpu"
        and inputs.dtype == torch.float32
        and not torch.is_grad_enabled()
        and onednn_linear_available()
    )


def linear(
    inputs: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, leaky_slope=None, onednn: bool = True
) -> torch.Tensor:
    """`inputs @ weight.T + bias` for 2-D `inputs`, then `leaky_relu(., leaky_slope)` if given."""
    if _use_onednn(inputs, onednn):
        if leaky_slope is None:
            return torch.ops.mkldnn._linear_pointwise(inputs, weight, bias, "none", [], "")
        return torch.ops.mkldnn._linear_pointwise(inputs, weight, bias, "leaky_relu", [leaky_slope], "")
    output = F.linear(inputs, weight, bias)
    if leaky_slope is None:
        return output
    # In place saves a pass over memory, but autograd needs the pre-activation kept.
    return F.leaky_relu(output, leaky_slope) if torch.is_grad_enabled() else F.leaky_relu_(output, leaky_slope)


def linear_add(
    inputs: torch.Tensor,
    other: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    onednn: bool = True,
) -> torch.Tensor:
    """`other + inputs @ weight.T (+ bias)`; without autograd it may reuse `other`'s storage
    (callers rebind the result and do not read `other` again)."""
    if _use_onednn(inputs, onednn):
        return torch.ops.mkldnn._linear_pointwise.binary(inputs, other, weight, bias, "add")
    if torch.is_grad_enabled():
        output = torch.addmm(other, inputs, weight.t())
        return output if bias is None else output + bias
    output = other.addmm_(inputs, weight.t())
    return output if bias is None else output.add_(bias)


class Linear(torch.autograd.Function):
    """`(other +) inputs @ weight.T (+ bias)` for 2-D `inputs`, all three training GEMMs on oneDNN
    where available: the forward product, the input gradient `grad @ weight` and the weight
    gradient `grad.T @ inputs`. The last one reduces over the long rows axis; oneDNN takes the two
    transposed views as they are (1.2-1.6 ms against MKL's 1.8 ms for the small preset's
    4808 x 256 x 128 products on the 2-core EPYC; making them contiguous first costs more than it
    saves)."""

    @staticmethod
    def forward(ctx, inputs, weight, bias, other, onednn: bool):
        ctx.save_for_backward(inputs, weight)
        ctx.has_bias, ctx.has_other, ctx.onednn = bias is not None, other is not None, onednn
        if other is None:
            return linear(inputs, weight, bias, onednn=onednn)
        if _use_onednn(inputs, onednn):
            return torch.ops.mkldnn._linear_pointwise.binary(inputs, other, weight, bias, "add")
        output = torch.addmm(other, inputs, weight.t())
        return output if bias is None else output.add_(bias)

    @staticmethod
    def backward(ctx, grad):
        inputs, weight = ctx.saved_tensors
        grad = grad.contiguous()
        grad_inputs = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_inputs = linear(grad, weight.t().contiguous(), None, onednn=ctx.onednn)
        if ctx.needs_input_grad[1]:
            grad_weight = linear(grad.t(), inputs.t(), None, onednn=ctx.onednn)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad.sum(0)
        return grad_inputs, grad_weight, grad_bias, grad if ctx.has_other else None, None


def trainable_linear(inputs, weight, bias=None, other=None, onednn: bool = True) -> torch.Tensor:
    """[`Linear`] for autograd: `(other +) inputs @ weight.T (+ bias)`, 2-D `inputs`."""
    return Linear.apply(inputs, weight, bias, other, onednn)
