"""Conv-TasNet temporal convolutional network (Luo & Mesgarani 2019, Section II-C), the building
block of both the shared feature extractor (paper eq. 2) and the mask estimator (eq. 4)."""

import torch
from torch import nn
from torch.nn import functional as F


def zero_padding(hidden_states: torch.Tensor, frame_mask: torch.Tensor | None, frame_axis: int = 2) -> torch.Tensor:
    """`hidden_states` with the frames where `frame_mask` `(batch, frames)` is False (batch padding)
    set to zero; `frame_axis` is 2 for `(batch, channels, frames)`, 1 for time-major tensors.

    Run alone, an item's dilated depthwise convolutions read zeros past its last frame; in a padded
    batch they must read zeros there too, or padding leaks into its last frames. None: no padding.
    """
    if frame_mask is None:
        return hidden_states
    keep = frame_mask.unsqueeze(1) if frame_axis == 2 else frame_mask.unsqueeze(-1)
    return hidden_states.masked_fill(~keep, 0.0)


class QrtseChannelLayerNorm(nn.LayerNorm):
    """cLN: normalises each frame over channels. Input and output `(batch, channels, frames)`.
    Per frame, so padding frames cannot reach valid ones and `frame_mask` is not needed."""

    def forward(self, hidden_states: torch.Tensor, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
        return super().forward(hidden_states.transpose(1, 2)).transpose(1, 2)


class QrtseGlobalLayerNorm(nn.GroupNorm):
    """gLN: normalises each item over channels and frames (GroupNorm with one group is exactly
    gLN). With a `frame_mask` `(batch, frames)` the statistics come from the valid frames only."""

    def __init__(self, channels: int):
        super().__init__(1, channels, eps=1e-8)

    def forward(self, hidden_states: torch.Tensor, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
        if frame_mask is None:
            return super().forward(hidden_states)
        weights = frame_mask.unsqueeze(1).to(hidden_states.dtype)
        count = (weights.sum((1, 2), keepdim=True) * hidden_states.shape[1]).clamp_min(1.0)
        centred = hidden_states - (hidden_states * weights).sum((1, 2), keepdim=True) / count
        variance = (centred.square() * weights).sum((1, 2), keepdim=True) / count
        return centred * torch.rsqrt(variance + self.eps) * self.weight[:, None] + self.bias[:, None]


def build_norm(norm_type: str, channels: int) -> nn.Module:
    """`"cLN"` (per frame) or `"gLN"` (per clip)."""
    if norm_type == "gLN":
        return QrtseGlobalLayerNorm(channels)
    return QrtseChannelLayerNorm(channels, eps=1e-8)


class QrtseCausalDepthwiseConv(nn.Conv1d):
    """A dilated depthwise convolution that reads (P-1) x d frames of the past and none of the
    future, and returns as many frames as it is given. `padding` holds (P-1) x d: output frame t
    reads input frames t + k d - padding, the same geometry the CPU kernels (`kernels.depthwise`)
    compute for any padding, so they run causal blocks unchanged."""

    def __init__(self, channels: int, kernel_size: int, dilation: int):
        super().__init__(
            channels, channels, kernel_size, dilation=dilation, padding=dilation * (kernel_size - 1), groups=channels
        )

    @property
    def context_frames(self) -> int:
        """Frames of the past each output frame reads."""
        return self.padding[0]

    def forward(self, hidden_states: torch.Tensor, past: torch.Tensor | None = None) -> torch.Tensor:
        """`(batch, H, frames)` -> `(batch, H, frames)`; `past` `(batch, H, context_frames)`: the
        input frames before these (None: zeros, the start of a signal)."""
        if past is None:
            past = hidden_states.new_zeros(*hidden_states.shape[:2], self.context_frames)
        inputs = torch.cat([past, hidden_states], dim=-1)
        return F.conv1d(inputs, self.weight, self.bias, dilation=self.dilation, groups=self.groups)


class QrtseConvBlock(nn.Module):
    """One 1-D convolutional block: 1x1 conv B->H, PReLU, norm, dilated depthwise conv (P),
    PReLU, norm, then a residual 1x1 conv H->B and a skip 1x1 conv H->Sc. Causal models
    (`config.causal`) use [`QrtseCausalDepthwiseConv`]; the parameters are the same."""

    def __init__(self, config, dilation: int):
        super().__init__()
        hidden = config.hidden_channels
        self.in_conv = nn.Conv1d(config.bottleneck_channels, hidden, 1)
        self.in_act = nn.PReLU()
        self.in_norm = build_norm(config.norm_type, hidden)
        self.causal = getattr(config, "causal", False)
        if self.causal:
            self.depthwise_conv = QrtseCausalDepthwiseConv(hidden, config.kernel_size, dilation)
        else:
            self.depthwise_conv = nn.Conv1d(
                hidden,
                hidden,
                config.kernel_size,
                dilation=dilation,
                padding=dilation * (config.kernel_size - 1) // 2,
                groups=hidden,
            )
        self.depthwise_act = nn.PReLU()
        self.depthwise_norm = build_norm(config.norm_type, hidden)
        self.residual_conv = nn.Conv1d(hidden, config.bottleneck_channels, 1)
        self.skip_conv = nn.Conv1d(hidden, config.skip_channels, 1)

    def forward(
        self, hidden_states: torch.Tensor, frame_mask: torch.Tensor | None = None, past: list | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`(batch, B, frames)` -> residual output `(batch, B, frames)`, skip `(batch, Sc, frames)`.
        `frame_mask` `(batch, frames)`: the valid frames of a padded batch (None: all). Causal
        blocks in a stream: `past` is a one-item list holding the depthwise input's last
        `context_frames` frames (None at the start of a signal), replaced by this call's."""
        block = self.in_norm(self.in_act(self.in_conv(hidden_states)), frame_mask)
        block = zero_padding(block, frame_mask)
        if self.causal:
            context = None if past is None else past[0]
            if past is not None:
                past[0] = self._context_after(context, block)
            block = self.depthwise_conv(block, context)
        else:
            block = self.depthwise_conv(block)
        block = self.depthwise_norm(self.depthwise_act(block), frame_mask)
        return hidden_states + self.residual_conv(block), self.skip_conv(block)

    def _context_after(self, context: torch.Tensor | None, block: torch.Tensor) -> torch.Tensor:
        """The `context_frames` depthwise inputs that end with `block`'s last frame."""
        frames = self.depthwise_conv.context_frames
        if context is None:
            context = block.new_zeros(*block.shape[:2], frames)
        return torch.cat([context, block], dim=-1)[..., block.shape[-1] :].clone()


class QrtseTemporalConvNet(nn.Module):
    """Input norm and 1x1 bottleneck, `repeats` stacks of `blocks` blocks with dilations
    1, 2, ..., 2^(blocks-1), the sum of the skip outputs, PReLU and a 1x1 output conv.

    Maps `(batch, in_channels, frames)` to `(batch, out_channels, frames)`. With a `frame_mask`
    `(batch, frames)` (the valid frames of a padded batch) each item's valid frames get what they
    get alone; its padding frames hold values that mean nothing.
    """

    def __init__(self, config, in_channels: int, out_channels: int, blocks: int, repeats: int):
        super().__init__()
        self.input_norm = build_norm(config.norm_type, in_channels)
        self.bottleneck = nn.Conv1d(in_channels, config.bottleneck_channels, 1)
        self.blocks = nn.ModuleList(
            QrtseConvBlock(config, dilation=2**b) for _ in range(repeats) for b in range(blocks)
        )
        self.output_act = nn.PReLU()
        self.output_conv = nn.Conv1d(config.skip_channels, out_channels, 1)

    def forward(
        self, features: torch.Tensor, frame_mask: torch.Tensor | None = None, past: list | None = None
    ) -> torch.Tensor:
        """`past` (causal TCNs in a stream): one context per block, None at the start of the
        signal (`[None] * len(self.blocks)`), each replaced by this call's (see [`QrtseConvBlock`])."""
        hidden_states = self.bottleneck(self.input_norm(features, frame_mask))
        skip_sum = 0.0
        for index, block in enumerate(self.blocks):
            block_past = None if past is None else past[index : index + 1]
            hidden_states, skip = block(hidden_states, frame_mask, block_past)
            if past is not None:
                past[index] = block_past[0]
            skip_sum = skip_sum + skip
        return self.output_conv(self.output_act(skip_sum))
