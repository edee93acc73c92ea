"""Learnable analysis/synthesis filterbanks (paper eqs. 1 and 5)."""

import torch
from torch import nn
from torch.nn import functional as F


class QrtseEncoder(nn.Module):
    """1-D conv encoder with ReLU (Conv-TasNet): waveform `(batch, time)` -> X `(batch, D, frames)`.

    The waveform is padded by `config.frame_offset_samples` (`window - hop`) on both sides (and to
    a whole number of hops) so that every output sample is covered by the same number of frames;
    [`QrtseDecoder`] crops the padding off again.
    """

    def __init__(self, config):
        super().__init__()
        self.window = config.window_samples
        self.hop = config.hop_samples
        self.edge = config.frame_offset_samples
        self.conv = nn.Conv1d(1, config.encoder_filters, self.window, stride=self.hop, bias=False)

    def padding(self, num_samples: int) -> tuple[int, int]:
        """Left and right zero padding applied to a waveform of `num_samples`."""
        remainder = (num_samples + 2 * self.edge - self.window) % self.hop
        return self.edge, self.edge + (self.hop - remainder) % self.hop

    def pad(self, waveform: torch.Tensor) -> torch.Tensor:
        """`waveform` `(batch, time)` with its [`padding`]: zeros concatenated rather than
        `F.pad`, so that ONNX tracing records the padding as computed from the input's length."""
        left, right = self.padding(waveform.shape[-1])
        zeros = waveform.new_zeros
        return torch.cat([zeros(waveform.shape[0], left), waveform, zeros(waveform.shape[0], right)], dim=-1)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.frames_of(self.pad(waveform))

    def frames_of(self, samples: torch.Tensor) -> torch.Tensor:
        """X of already padded `samples` `(batch, time)`: one frame per whole window, every hop
        (a stream encodes its buffered samples with it)."""
        return F.relu(self.conv(samples.unsqueeze(1)))

    def forward_gemm(self, waveform: torch.Tensor) -> torch.Tensor:
        """The same as one GEMM of overlapping frames with the filters, computed time-major: returns
        a `(batch, D, frames)` view of `(batch, frames, D)` storage (what the fast TCNs read)."""
        # Never traced, so the one-op F.pad (the concatenation in `pad` is for tracing `forward`).
        return self.frames_gemm(F.pad(waveform, self.padding(waveform.shape[-1])))

    def frames_gemm(self, samples: torch.Tensor) -> torch.Tensor:
        """[`frames_of`] as one GEMM, time-major as [`forward_gemm`]."""
        frames = samples.unfold(-1, self.window, self.hop)
        features = torch.matmul(frames, self.conv.weight.view(self.conv.out_channels, self.window).t())
        return features.relu_().transpose(1, 2)  # in place is autograd-safe: matmul keeps its inputs


class QrtseDecoder(nn.Module):
    """Transposed 1-D conv decoder: masked features `(batch, D, frames)` -> waveform
    `(batch, num_samples)`, cropped to the encoder's input length."""

    def __init__(self, config):
        super().__init__()
        self.crop = config.frame_offset_samples
        self.conv = nn.ConvTranspose1d(
            config.encoder_filters, 1, config.window_samples, stride=config.hop_samples, bias=False
        )

    def forward(self, masked_features: torch.Tensor, num_samples: int) -> torch.Tensor:
        return self.overlap_add(masked_features)[..., self.crop : self.crop + num_samples]

    def overlap_add(self, masked_features: torch.Tensor) -> torch.Tensor:
        """The uncropped output `(batch, (frames - 1) * hop + window)` of the frames alone (a stream
        adds the previous frames' overlapping tail to its start)."""
        return self.conv(masked_features).squeeze(1)

    def forward_gemm(self, masked_features: torch.Tensor, num_samples: int) -> torch.Tensor:
        """The same as one GEMM to overlapping frames (time-major) and an overlap-add (`fold`)."""
        return self.overlap_add_gemm(masked_features)[..., self.crop : self.crop + num_samples]

    def overlap_add_gemm(self, masked_features: torch.Tensor) -> torch.Tensor:
        """[`overlap_add`] as one GEMM to overlapping frames and a `fold`."""
        window, hop = self.conv.kernel_size[0], self.conv.stride[0]
        frames = torch.matmul(masked_features.transpose(1, 2).contiguous(), self.conv.weight.view(-1, window))
        length = (frames.shape[1] - 1) * hop + window
        waveform = F.fold(frames.transpose(1, 2), (1, length), kernel_size=(1, window), stride=(1, hop))
        return waveform.view(waveform.shape[0], -1)
