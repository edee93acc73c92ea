"""The TCN blocks' dilated depthwise convolution on time-major `(batch, frames, channels)` tensors,
forward and backward, as one multiply-add per tap over shifted slices (all on contiguous rows).

PyTorch's `conv1d(groups=channels)` works on `(batch, channels, frames)`; on CPU its backward is
the slowest kernel of a Conv-TasNet training step. The taps here are `(kernel_size, channels)`
rows that broadcast over the channel axis. Padding is zero, as in the reference `nn.Conv1d`.
"""

import torch


def tap_offsets(kernel_size: int, dilation: int, padding: int) -> list:
    """Frame offset read by each tap: output frame t reads input frame t + offset."""
    return [tap * dilation - padding for tap in range(kernel_size)]


def depthwise_forward(
    states: torch.Tensor, taps: torch.Tensor, bias: torch.Tensor, dilation: int, padding: int, out: torch.Tensor
) -> torch.Tensor:
    """`out[b, t] = bias + sum_k taps[k] * states[b, t + offset_k]` (zero outside), into `out`."""
    frames = states.shape[1]
    offsets = tap_offsets(taps.shape[0], dilation, padding)
    center = offsets.index(0) if 0 in offsets else None
    if center is None:
        out.copy_(bias.expand_as(states))
    else:
        torch.addcmul(bias, states, taps[center], out=out)
    for tap, offset in enumerate(offsets):
        if tap == center or abs(offset) >= frames:
            continue
        if offset > 0:
            out[:, : frames - offset].addcmul_(states[:, offset:], taps[tap])
        else:
            out[:, -offset:].addcmul_(states[:, : frames + offset], taps[tap])
    return out


def depthwise_backward(
    grad: torch.Tensor, states: torch.Tensor, taps: torch.Tensor, dilation: int, padding: int, need_input: bool = True
) -> tuple:
    """Gradients of [`depthwise_forward`] with respect to `states`, `taps` and `bias`.

    The input gradient is the same convolution with the offsets negated (a transposed
    convolution); each tap's gradient is the per-channel dot product of the output gradient with
    the input slice that tap read.
    """
    frames, channels = states.shape[1], states.shape[2]
    offsets = tap_offsets(taps.shape[0], dilation, padding)
    grad_taps = taps.new_zeros(taps.shape)
    grad_input = torch.zeros_like(states) if need_input else None
    for tap, offset in enumerate(offsets):
        if abs(offset) >= frames:
            continue
        if offset >= 0:  # out[t] read states[t + offset] for t < frames - offset
            grad_slice, state_slice = grad[:, : frames - offset], states[:, offset:]
            input_slice = grad_input[:, offset:] if need_input else None
        else:
            grad_slice, state_slice = grad[:, -offset:], states[:, : frames + offset]
            input_slice = grad_input[:, : frames + offset] if need_input else None
        if need_input:
            input_slice.addcmul_(grad_slice, taps[tap])
        grad_taps[tap] = (grad_slice * state_slice).reshape(-1, channels).sum(0)
    return grad_input, grad_taps, grad.reshape(-1, channels).sum(0)


class DepthwiseConvolution(torch.autograd.Function):
    """Autograd wrapper: `(batch, frames, channels)` contiguous states, `(kernel_size, channels)` taps."""

    @staticmethod
    def forward(ctx, states, taps, bias, dilation: int, padding: int):
        ctx.save_for_backward(states, taps)
        ctx.geometry = (dilation, padding)
        return depthwise_forward(states, taps, bias, dilation, padding, out=torch.empty_like(states))

    @staticmethod
    def backward(ctx, grad):
        states, taps = ctx.saved_tensors
        grad_input, grad_taps, grad_bias = depthwise_backward(
            grad.contiguous(), states, taps, *ctx.geometry, need_input=ctx.needs_input_grad[0]
        )
        return grad_input, grad_taps, grad_bias, None, None


def depthwise_with_context(
    extended: torch.Tensor, taps: torch.Tensor, bias: torch.Tensor, dilation: int, out: torch.Tensor
) -> torch.Tensor:
    """A causal convolution's output for the last `out.shape[1]` frames of `extended` `(batch,
    context + frames, channels)`, whose first (kernel_size - 1) x dilation frames are the context
    before them (a stream's past): `out[b, t] = bias + sum_k taps[k] * extended[b, t + k d]`, into
    `out`. Every tap reads inside `extended`, so no output frame is spent on the context."""
    frames = out.shape[1]
    torch.addcmul(bias, extended[:, :frames], taps[0], out=out)
    for tap in range(1, taps.shape[0]):
        start = tap * dilation
        out.addcmul_(extended[:, start : start + frames], taps[tap])
    return out
