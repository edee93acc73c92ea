"""A tiny causal model whose online refinement keeps and drops classes within a second of audio, so
that the streaming tests exercise every part of the state."""

import torch

from modeling_qrtse.configuration_qrtse import QrtseConfig
from modeling_qrtse.modeling_qrtse import QrtseModel

THRESHOLD = 0.5


def tiny_causal_model(**overrides) -> QrtseModel:
    settings = {"silence_empty_query": True, "presence_window_s": 0.02, "release_s": 0.01, **overrides}
    torch.manual_seed(0)
    model = QrtseModel(QrtseConfig.from_preset("tiny", causal=True, **settings)).eval()
    with torch.no_grad():  # frame logits spread around 0: presence crosses theta = 0.5 often
        model.classifier.frame_logits.weight.mul_(20.0)
    return model


def mixture(batch: int = 2, samples: int = 3000, seed: int = 0) -> torch.Tensor:
    return 0.1 * torch.randn(batch, samples, generator=torch.Generator().manual_seed(seed))


def query(model: QrtseModel, batch: int, classes=(2, 5)) -> torch.Tensor:
    multi_hot = torch.zeros(batch, 1, model.config.num_labels)
    multi_hot[:, 0, list(classes)] = 1.0
    return multi_hot


def stream(streamer, waveform: torch.Tensor, sizes) -> torch.Tensor:
    """Feed `waveform` `(batch, time)` in chunks of `sizes` (cycled) and flush; the whole output."""
    outputs, start, index = [], 0, 0
    while start < waveform.shape[-1]:
        size = sizes[index % len(sizes)]
        outputs.append(streamer.process(waveform[:, start : start + size]))
        start, index = start + size, index + 1
    outputs.append(streamer.flush())
    return torch.cat(outputs, dim=-1)
