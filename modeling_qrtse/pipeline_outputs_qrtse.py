"""The pipeline's outputs: engine tensors to plain Python / numpy (`TargetSoundExtractionPipeline.postprocess`).

Shipped as remote code next to the model: flat sibling imports and numpy only.
"""

import numpy as np

from .audio_inputs_qrtse import check_sampling_rate
from .resampling_qrtse import resample


def check_output_sampling_rate(output_sampling_rate):
    """`output_sampling_rate` as None, "input" or an int; `ValueError` for anything else (a bool
    is not a rate; see `audio_inputs_qrtse.check_sampling_rate`)."""
    if output_sampling_rate is None or (isinstance(output_sampling_rate, str) and output_sampling_rate == "input"):
        return output_sampling_rate
    if isinstance(output_sampling_rate, str):
        raise ValueError(f"output_sampling_rate must be None, 'input' or a rate in Hz, got {output_sampling_rate!r}")  # noqa: TRY004 (every bad parameter is a ValueError for callers)
    return check_sampling_rate(output_sampling_rate, "output_sampling_rate")


def format_outputs(
    model_outputs, config, processor, return_probabilities=False, return_residual=False, output_sampling_rate=None
):
    """One input's engine outputs (batch of one) as the pipeline returns them: a dict per query
    set (a list when several were asked for) of numpy audio and plain Python values. Queries and
    probabilities are named by `processor` (`QrtseProcessor`)."""
    length = int(model_outputs["lengths"][0])
    model_rate = config.sampling_rate
    if output_sampling_rate == "input":
        output_sampling_rate = int(model_outputs["input_sampling_rate"][0])
    out_rate = output_sampling_rate or model_rate

    clip = model_outputs["clip_probabilities"]
    class_probabilities = None if clip is None else processor.decode_probabilities(clip[0])
    extra = {}
    if return_probabilities and model_outputs["frame_probabilities"] is not None:
        num_frames = config.num_frames_of(length)  # frames whose first sample is real audio
        extra["frame_probabilities"] = model_outputs["frame_probabilities"][0, :num_frames].float().numpy()
        extra["frame_rate"] = config.frame_rate

    results = []
    queries = model_outputs["query"][0]
    for k in range(queries.shape[0]):
        if not queries[k].any():
            continue  # a query set that only pads a batch of differently sized query lists
        audio = model_outputs["extracted_values"][0, k, :length].float().numpy()
        result = {
            "audio": resample(audio, model_rate, out_rate),
            "sampling_rate": int(out_rate),
            "query": processor.decode_query(queries[k]),
            "refined_query": processor.decode_query(model_outputs["refined_query"][0, k]),
            "class_probabilities": class_probabilities,
        }
        if return_residual:
            mixture = model_outputs["input_values"][0, :length].float().numpy()
            result["residual"] = resample(mixture - audio, model_rate, out_rate)
        chunks = []
        if model_outputs["chunk_bounds"] is not None:
            chunks = chunk_summaries(model_outputs, config, processor, k, length, return_probabilities)
        if len(chunks) > 1:  # an input that fits one chunk has none, alone or batched with longer ones
            result["chunks"] = chunks
        if model_outputs["frame_activity"] is not None:
            activity = model_outputs["frame_activity"][0].numpy()
            label2id = processor.label2id
            result["segments"] = {
                label: kept_segments(activity[:, label2id[label]], config, length) for label in result["query"]
            }
        results.append({**result, **extra})
    return results if bool(model_outputs["several_queries"][0]) else results[0]


def chunk_summaries(model_outputs, config, processor, k, length, return_probabilities) -> list:
    """`refinement=\"chunk\"`: per chunk, its bounds in seconds and the labels it kept."""
    summaries = []
    for index, (start, end) in enumerate(model_outputs["chunk_bounds"][0].tolist()):
        if start >= length:
            break
        summary = {
            "start": start / config.sampling_rate,
            "end": min(end, length) / config.sampling_rate,
            "refined_query": processor.decode_query(model_outputs["chunk_refined_query"][0, index, k]),
        }
        if return_probabilities and model_outputs["chunk_probabilities"] is not None:
            probabilities = model_outputs["chunk_probabilities"][0, index]
            summary["class_probabilities"] = processor.decode_probabilities(probabilities, sort=False)
        summaries.append(summary)
    return summaries


def kept_segments(activity: np.ndarray, config, length: int) -> list:
    """`refinement="frame"`: `[(start_s, end_s), ...]` of the runs of frames in which one class's
    `activity` `(frames,)` kept it, clipped to the input's `length` samples."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], activity.astype(np.int8), [0]])))
    duration = length / config.sampling_rate
    offset = config.frame_offset_samples / config.sampling_rate
    runs = [
        (start / config.frame_rate - offset, stop / config.frame_rate - offset)
        for start, stop in zip(edges[0::2], edges[1::2])
    ]
    return [(max(0.0, start), min(duration, stop)) for start, stop in runs if start < duration]
