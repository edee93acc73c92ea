"""The models compared by `benchmarks.inference`, built at equal size from one `QrtseConfig`:
our eager reference, our optimised path, the ONNX Runtime export, and asteroid's ConvTasNet."""

import torch
from torch.utils.flop_counter import FlopCounterMode

from modeling_qrtse import QrtseConfig, QrtseModel
from modeling_qrtse.summary import macs_per_second


def our_model(preset: str, seed: int = 0, **overrides) -> QrtseModel:
    """A randomly initialised model of `preset` in eval mode (speed does not depend on training)."""
    torch.manual_seed(seed)
    return QrtseModel(QrtseConfig.from_preset(preset, **overrides)).eval()


def our_flops_per_second(model: QrtseModel) -> float:
    """FLOPs per second of audio, one query, classifier included when present (FlopCounterMode)."""
    return 2 * macs_per_second(model)


def asteroid_kwargs(config: QrtseConfig) -> dict:
    """ConvTasNet with our encoder, block widths and total number of TCN blocks (shared extractor
    plus mask estimator), one source, cLN and a sigmoid mask: our model minus the classifier and
    the query embedding."""
    blocks = config.shared_blocks * config.shared_repeats + config.mask_blocks * config.mask_repeats
    return {
        "n_src": 1,
        "n_filters": config.encoder_filters,
        "kernel_size": config.window_samples,
        "stride": config.hop_samples,
        "n_blocks": config.mask_blocks,
        "n_repeats": max(1, round(blocks / config.mask_blocks)),
        "bn_chan": config.bottleneck_channels,
        "hid_chan": config.hidden_channels,
        "skip_chan": config.skip_channels,
        "conv_kernel_size": config.kernel_size,
        "norm_type": config.norm_type,
        "mask_act": config.mask_activation,
        "sample_rate": config.sampling_rate,
    }


def asteroid_convtasnet(config: QrtseConfig):
    """`(model, None)`, or `(None, reason)` when asteroid is not installed (the `bench` extra)."""
    try:
        from asteroid.models import ConvTasNet
    except ImportError as error:
        return None, f"asteroid is not installed ({error}); pip install --no-deps -r benchmarks/requirements.txt"
    torch.manual_seed(0)
    return ConvTasNet(**asteroid_kwargs(config)).eval(), None


def flops_per_second(run, sampling_rate: int) -> float:
    """FLOPs of `run(waveform)` on one second of audio at batch 1, counted by FlopCounterMode."""
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        run(torch.randn(1, sampling_rate))
    return counter.get_total_flops()
