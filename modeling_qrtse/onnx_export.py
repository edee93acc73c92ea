"""Export a [`QrtseModel`] to ONNX: `input_values (batch, time)`, `query (batch, classes)` ->
`extracted_values (batch, time)`, `clip_probabilities (batch, classes)`, with dynamic batch and
time axes and query refinement (eq. 7) at a fixed theta inside the graph, per file or, with
`refinement="frame"`, per frame (`frame_refinement_qrtse`: the smoothing is max / average pooling,
so it is part of the graph too; the graph then also outputs `frame_activity (batch, frames,
classes)`).

The graph is the model's own steps traced from the reference modules (channels-first convolutions, LayerNorm, GRU),
which ONNX Runtime fuses and schedules itself. Inputs are assumed unpadded (no attention mask),
as for one file at a time. Package-only: not shipped to the Hub with the model code.
"""

import io
import warnings

import torch
from torch import nn

from .frame_refinement_qrtse import frame_activity, frame_query
from .frame_smoothing_qrtse import FrameSmoothing
from .kernels.onnx_runtime import onnx_session  # noqa: F401 - where the exported model's users find it
from .refinement_qrtse import check_threshold, resolve_threshold

REFINEMENTS = ("file", "frame")

OPSET = 17  # LayerNormalization is a single op from opset 17


class QrtseOnnxGraph(nn.Module):
    """The model's own steps (`analyze`, `refine`, `extract`) with the refinement settings fixed,
    as the module that tracing records: `(input_values, query)` in, tensors out."""

    def __init__(self, model, threshold, refinement: str = "file", smoothing: FrameSmoothing | None = None):
        super().__init__()
        self.model = model
        # One theta, or per-class ones as a `(classes,)` constant of the graph.
        self.threshold = threshold.float() if torch.is_tensor(threshold) else float(threshold)
        self.refinement = refinement
        self.smoothing = smoothing or FrameSmoothing()

    def forward(self, input_values: torch.Tensor, query: torch.Tensor):
        model, config = self.model, self.model.config
        analysis = model.analyze(input_values)
        if self.refinement == "frame":
            activity = frame_activity(
                analysis.frame_probabilities,
                analysis.clip_probabilities,
                self.threshold,
                self.smoothing,
                config.frame_rate,
                config.classifier_pooling,
            )
            extracted = model.extract(analysis, frame_query(query.unsqueeze(1), activity))
            return extracted[:, 0], analysis.clip_probabilities, activity
        extracted = model.extract(
            analysis, model.refine(query.unsqueeze(1), analysis.clip_probabilities, self.threshold)
        )
        if analysis.clip_probabilities is None:
            return (extracted[:, 0],)
        return extracted[:, 0], analysis.clip_probabilities


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
