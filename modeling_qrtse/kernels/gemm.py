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

**bfloat16.** On CPUs with native bf16 instructions (AVX512-BF16, AMX) oneDNN multiplies bf16
operands at about twice its fp32 rate (2-core EPYC: ~400 against ~200 GFLOP/s on the TCN shapes),
accumulating in float32 and rounding each output element once to bf16 (no PyTorch CPU operator
returns a float32 product of bf16 operands). The fast paths can run their GEMMs so
(`optimize_for_training(dtype=torch.bfloat16)`, `optimize_for_inference(dtype=...)`): operands are
rounded to bf16 just before each GEMM and the products widened to float32 right after it, so
parameters, optimizer state, layer norms, activations, pooling and losses stay float32. Without
native bf16, oneDNN would emulate it more slowly than float32, so [`gemm_dtype`] falls back to
float32 there and says so once.
"""

import warnings
from functools import cache, lru_cache

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


BF16_FALLBACK_NOTICE = "bf16 requested but this CPU has no native bf16: running float32"


def _cpu_has_bf16_instructions() -> bool:
    capabilities = getattr(torch.cpu, "get_capabilities", None)
    if capabilities is not None:
        found = capabilities()
        return bool(found.get("avx512_bf16") or found.get("amx_bf16"))
    probes = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(probe is not None and probe() for probe in probes)


@lru_cache(maxsize=1)
def native_bf16_available() -> bool:
    """Whether this CPU has native bf16 GEMM instructions (AVX512-BF16 or AMX-BF16) and oneDNN's
    bf16 linear agrees with the float32 product (to bf16 rounding)."""
    if not onednn_linear_available() or not _cpu_has_bf16_instructions():
        return False
    generator = torch.Generator().manual_seed(0)
    inputs, weight = torch.randn(32, 16, generator=generator), torch.randn(8, 16, generator=generator)
    try:
        with torch.no_grad():
            product = torch.ops.mkldnn._linear_pointwise(inputs.bfloat16(), weight.bfloat16(), None, "none", [], "")
    except (RuntimeError, NotImplementedError):
        return False
    expected = inputs.bfloat16().float() @ weight.bfloat16().float().t()
    return product.dtype == torch.bfloat16 and torch.allclose(product.float(), expected, rtol=1e-2, atol=1e-2)


@cache
def _warn_once(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=4)


GEMM_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def gemm_dtype(dtype=torch.float32, device=None) -> torch.dtype:
    """The dtype the CPU fast paths should run their GEMMs in when `dtype` (`torch.float32`,
    `torch.bfloat16` or one of their names in `GEMM_DTYPES`) is asked for on `device` (default CPU):
    bfloat16 only on a CPU where [`native_bf16_available`]; otherwise float32, with
    `BF16_FALLBACK_NOTICE` warned once per process. Off CPU the fast modules run their reference
    computation (or float32 GEMMs): there, precision is the model's dtype or autocast's business."""
    resolved = GEMM_DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype
    if resolved not in (torch.float32, torch.bfloat16):
        raise ValueError(f"dtype must be float32 or bfloat16, got {dtype!r}")
    if resolved == torch.float32:
        return resolved
    device = torch.device(device if device is not None else "cpu")
    if device.type != "cpu":
        _warn_once(
            f"bf16 GEMMs are a CPU fast path: on {device.type} it runs float32 (use autocast or the model's dtype)"
        )
        return torch.float32
    if not native_bf16_available():
        _warn_once(BF16_FALLBACK_NOTICE)
        return torch.float32
    return resolved


# Below this many rows a float32 oneDNN call costs more than MKL's whole product (2-core EPYC, one
# thread: 25 against 11 us at 8 x 128 x 256, 103 against 89 us at 128 rows, even from 256 on):
# what a stream's chunk of a few frames multiplies (`benchmarks.streaming`).
ONEDNN_MIN_ROWS = 128


def _use_onednn(inputs: torch.Tensor, enabled: bool) -> bool:
    few_rows = inputs.dtype == torch.float32 and inputs.shape[0] < ONEDNN_MIN_ROWS
    return (
        enabled
        and not few_rows
        and inputs.device.type == "cpu"
        and (inputs.dtype == torch.float32 or (inputs.dtype == torch.bfloat16 and native_bf16_available()))
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


class MixedPrecisionLinear(torch.autograd.Function):
    """[`Linear`] with its three GEMMs in `dtype` (bfloat16) and everything else float32: the
    operands are rounded to `dtype` (the rounded input and weight are what backward keeps, at half
    the memory), oneDNN accumulates in float32 and rounds each product element once; the output,
    the input gradient and the weight gradient are widened back to float32, the bias gradient and
    the `other` sum are float32 throughout. Each GEMM costs one extra pass over its operands
    (rounding) and one over its output (widening): small next to the halved GEMM time."""

    @staticmethod
    def forward(ctx, inputs, weight, bias, other, onednn: bool, dtype: torch.dtype):
        low_inputs, low_weight = inputs.to(dtype), weight.to(dtype)
        ctx.save_for_backward(low_inputs, low_weight)
        ctx.has_bias, ctx.has_other = bias is not None, other is not None
        product = linear(low_inputs, low_weight, None if bias is None else bias.to(dtype), onednn=onednn)
        return product.float() if other is None else other + product

    @staticmethod
    def backward(ctx, grad):
        low_inputs, low_weight = ctx.saved_tensors
        grad = grad.contiguous()
        low_grad = grad.to(low_inputs.dtype)
        grad_inputs = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_inputs = torch.mm(low_grad, low_weight).float()
        if ctx.needs_input_grad[1]:
            # Reduces over the long rows axis; oneDNN accumulates it in float32.
            grad_weight = torch.mm(low_grad.t(), low_inputs).float()
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad.sum(0)
        return grad_inputs, grad_weight, grad_bias, grad if ctx.has_other else None, None, None


def trainable_linear(
    inputs, weight, bias=None, other=None, onednn: bool = True, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """[`Linear`] for autograd: `(other +) inputs @ weight.T (+ bias)`, 2-D `inputs`; with `dtype`
    bfloat16 its GEMMs run in bf16 ([`MixedPrecisionLinear`])."""
    if dtype != torch.float32:
        return MixedPrecisionLinear.apply(inputs, weight, bias, other, onednn, dtype)
    return Linear.apply(inputs, weight, bias, other, onednn)
