"""Model size and compute, counted with torch's own FLOP counter (no hand formula)."""

import torch
from torch.utils.flop_counter import FlopCounterMode

from .configuration_qrtse import QrtseConfig
from .modeling_qrtse import QrtseModel


def count_parameters(module: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def macs_per_second(model: QrtseModel) -> float:
    """Multiply-accumulates for one second of audio at the model rate (FLOPs / 2), one query,
    refinement on so the classifier runs when present."""
    waveform = torch.randn(1, model.config.sampling_rate)
    query = torch.zeros(1, model.config.num_labels)
    query[0, 0] = 1
    threshold = 0.5 if model.classifier is not None else 0.0
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(waveform, query, threshold=threshold)
    return counter.get_total_flops() / 2


def summarize(config: QrtseConfig) -> dict:
    """Parameters with and without the classifier and GMAC per second for both architectures."""
    with_classifier = QrtseModel(QrtseConfig.from_dict({**config.to_dict(), "use_classifier": True})).eval()
    without_classifier = QrtseModel(QrtseConfig.from_dict({**config.to_dict(), "use_classifier": False})).eval()
    return {
        "parameters_without_classifier": count_parameters(without_classifier),
        "parameters_with_classifier": count_parameters(with_classifier),
        "gmacs_per_second_without_classifier": macs_per_second(without_classifier) / 1e9,
        "gmacs_per_second_with_classifier": macs_per_second(with_classifier) / 1e9,
        "receptive_field_seconds": config.receptive_field_frames * config.hop_samples / config.sampling_rate,
        "causal": config.causal,
        "algorithmic_latency_ms": None if not config.causal else 1000 * config.algorithmic_latency_s,
        "num_labels": config.num_labels,
    }


def format_summary(summary: dict) -> str:
    return "\n".join(
        [
            f"parameters without classifier: {summary['parameters_without_classifier'] / 1e6:.2f} M",
            f"parameters with classifier:    {summary['parameters_with_classifier'] / 1e6:.2f} M",
            f"GMAC/s without classifier:     {summary['gmacs_per_second_without_classifier']:.2f}",
            f"GMAC/s with classifier:        {summary['gmacs_per_second_with_classifier']:.2f}",
            f"receptive field:               {summary['receptive_field_seconds']:.2f} s"
            + (" (all past)" if summary["causal"] else " (half of it future)"),
            "algorithmic latency:           "
            + (
                "offline only"
                if summary["algorithmic_latency_ms"] is None
                else f"{summary['algorithmic_latency_ms']:g} ms"
            ),
            f"classes:                       {summary['num_labels']}",
        ]
    )
