"""Export a [`QrtseModel`] to ONNX: `input_values (batch, time)`, `query (batch, classes)` ->
`extracted_values (batch, time)`, `clip_probabilities (batch, classes)`, with dynamic batch and
time axes and query refinement (eq. 7) at a fixed theta inside the graph, per file or, with
`refinement="frame"`, per frame (`frame_refinement_qrtse`: the smoothing is max / average pooling,
so it is part of the graph too; the graph then also outputs `frame_activity (batch, frames,
classes)`).

The graph is traced from the reference modules (channels-first convolutions, LayerNorm, GRU),
which ONNX Runtime fuses and schedules itself. Inputs are assumed unpadded (no attention mask),
as for one file at a time. Package-only: not shipped to the Hub with the model code.
"""

import io
import warnings

import torch
from torch import nn
from torch.nn import functional as F

from .frame_refinement_qrtse import FrameSmoothing, empty_frame_gate, frame_activity, frame_query
from .onnx_runtime_qrtse import onnx_session  # noqa: F401 - where the exported model's users find it
from .refinement_qrtse import check_threshold, refine_query, refines, resolve_threshold

REFINEMENTS = ("file", "frame")

OPSET = 17  # LayerNormalization is a single op from opset 17


class QrtseOnnxGraph(nn.Module):
    """The model's forward pass written with shapes taken from the input tensors, so that tracing
    records them as graph computations instead of the example's constants."""

    def __init__(self, model, threshold, refinement: str = "file", smoothing: FrameSmoothing | None = None):
        super().__init__()
        self.model = model
        # One theta, or per-class ones as a `(classes,)` constant of the graph.
        self.threshold = threshold.float() if torch.is_tensor(threshold) else float(threshold)
        self.refines = refines(threshold)
        self.refinement = refinement
        self.smoothing = smoothing or FrameSmoothing()

    def encode(self, input_values: torch.Tensor) -> torch.Tensor:
        """Eq. (1) with `QrtseEncoder.padding` computed from the traced length."""
        encoder = self.model.encoder
        edge = encoder.window - encoder.hop
        remainder = (input_values.shape[-1] + 2 * edge - encoder.window) % encoder.hop
        right = edge + (encoder.hop - remainder) % encoder.hop
        padded = torch.cat(
            [
                input_values.new_zeros(input_values.shape[0], edge),
                input_values,
                input_values.new_zeros(input_values.shape[0], right),
            ],
            dim=-1,
        )
        return F.relu(encoder.conv(padded.unsqueeze(1)))

    def forward(self, input_values: torch.Tensor, query: torch.Tensor):
        model = self.model
        mixture_features = self.encode(input_values)
        shared_features = model.extract_shared_features(mixture_features)
        clip_probabilities = activity = None
        if model.classifier is not None:
            frame_mask = torch.ones_like(shared_features[:, 0], dtype=torch.bool)
            clip_probabilities, frame_probabilities = model.classify(shared_features, frame_mask)
            if self.refinement == "frame":
                activity = frame_activity(
                    frame_probabilities,
                    clip_probabilities,
                    self.threshold,
                    self.smoothing,
                    model.config.frame_rate,
                    model.config.classifier_pooling,
                )
            elif self.refines:
                query = refine_query(query, clip_probabilities, self.threshold)
        if activity is not None:
            frame_queries = frame_query(query.unsqueeze(1), activity)
            mask = model.estimate_mask(shared_features, frame_queries)
            if model.config.silence_empty_query:
                mask = mask * empty_frame_gate(frame_queries, model.config.frame_rate)
            waveform = model.decoder.conv(mixture_features * mask).squeeze(1)
            crop = model.decoder.crop
            return waveform[:, crop : crop + input_values.shape[-1]], clip_probabilities, activity
        mask = model.estimate_mask(shared_features, query.unsqueeze(1))
        waveform = model.decoder.conv(mixture_features * mask).squeeze(1)
        crop = model.decoder.crop
        extracted = waveform[:, crop : crop + input_values.shape[-1]]
        if model.config.silence_empty_query:
            extracted = extracted * (query.sum(-1, keepdim=True) > 0).to(extracted.dtype)
        return (extracted, clip_probabilities) if clip_probabilities is not None else (extracted,)


def export_onnx(model, path=None, threshold=None, opset: int = OPSET, refinement: str = "file", frame_smoothing=None):
    """Write `model` as ONNX to `path` (or return the bytes when `path` is None).

    `threshold` is theta of eq. (7), fixed in the graph (default: the model's, per class where
    `config.class_thresholds` is set; 0 exports without refinement). The graph has outputs `extracted_values` and, when the model
    has a classifier, `clip_probabilities`. `refinement="frame"` refines per frame with
    `frame_smoothing` (default `config.frame_smoothing`) and adds the output `frame_activity`.
    """
    if refinement not in REFINEMENTS:
        raise ValueError(f"refinement must be one of {REFINEMENTS}, got {refinement!r}")
    if refinement == "frame" and model.classifier is None:
        raise ValueError("refinement='frame' needs a model with a classifier")
    threshold = resolve_threshold(model.config, threshold)
    check_threshold(threshold, model.config.num_labels)
    smoothing = FrameSmoothing.from_dict(model.config.frame_smoothing if frame_smoothing is None else frame_smoothing)
    graph = QrtseOnnxGraph(model.eval(), threshold, refinement, smoothing).eval()
    example_values = torch.zeros(1, model.config.sampling_rate)
    example_query = torch.zeros(1, model.config.num_labels)
    example_query[0, 0] = 1
    outputs = ["extracted_values"] + (["clip_probabilities"] if model.classifier is not None else [])
    dynamic_axes = {"input_values": {0: "batch", 1: "time"}, "query": {0: "batch"}}
    dynamic_axes["extracted_values"] = {0: "batch", 1: "time"}
    if model.classifier is not None:
        dynamic_axes["clip_probabilities"] = {0: "batch"}
    if refinement == "frame":
        outputs.append("frame_activity")
        dynamic_axes["frame_activity"] = {0: "batch", 1: "frames"}
    target = io.BytesIO() if path is None else str(path)
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter's deprecation notice and tracer warnings about the classifier's
        # padding branch, which an unpadded input never takes.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            (example_values, example_query),
            target,
            dynamo=False,
            opset_version=opset,
            input_names=["input_values", "query"],
            output_names=outputs,
            dynamic_axes=dynamic_axes,
        )
    return target.getvalue() if path is None else path
