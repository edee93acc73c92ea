"""Long-form extraction with query refinement: chunked, overlap-save, bounded memory.

`extract_long_form(model, waveform, query, ...)` is the one long-form implementation (as asteroid's
`LambdaOverlapAdd` or demucs' `apply_model` sit beside their models): the pipeline calls it, and the
CLI, the Space and batch extraction go through the pipeline. Input that fits one chunk takes one
pass and equals `QrtseModel.forward` (what `training.evaluate` scores on its 6 s mixtures); longer
input is cut into chunks with exact context (`chunking_qrtse`).

Refinement (eq. 7) is decided per file (`refinement="file"`: pass 1 classifies every chunk and
pools the frame probabilities over the whole file with the classifier's own pooling, pass 2
extracts with the refined query; the encoder and shared features are computed again, about a third
more compute, so that activations stay bounded by one chunk while the waveforms are held whole; for
linear-softmax pooling, sum(p^2) / sum(p) accumulates over chunks, so only the BiGRU's context is
limited to the chunk), per chunk (`refinement="chunk"`: one pass, each chunk refined
with its own probabilities) or per frame (`refinement="frame"`, the temporal refinement of the
paper's Section 5: pass 1 collects the frame probabilities of the whole file, which are thresholded
and smoothed over the whole file (`frame_refinement_qrtse`), pass 2 extracts every chunk with its
frames of the resulting time-varying query (a class must also pass the clip decision). The file's
frame probabilities (float32) and decisions (bool) are held whole, the only state that grows with
the input: about 28 kB per second for 28 classes at 200 frames per second (the small preset).

Shipped as remote code next to the model: flat sibling imports and torch only.
"""

from dataclasses import dataclass

import torch
from transformers.utils import logging

from .chunking_qrtse import StreamingPooling, context_samples, crossfade_weights, owned_frames, plan_chunks
from .frame_refinement_qrtse import FrameSmoothing, frame_activity, frame_query
from .modeling_qrtse import QrtseAnalysis, frame_validity
from .refinement_qrtse import check_threshold, refine_items, resolve_threshold

logger = logging.get_logger(__name__)

REFINEMENT_MODES = ("file", "chunk", "frame")
DEFAULT_CHUNK_LENGTH_S = 30.0
# Long enough to hide a change of query between chunks (refinement="chunk"), short enough to
# stay far inside the exact region of each chunk.
CROSSFADE_S = 0.05


@dataclass
class LongFormOutput:
    """What `extract_long_form` returns.

    Attributes:
        extracted_values (`torch.FloatTensor` of shape `(batch, K, time)`): float32, zero past
            each item's length.
        refined_query (`torch.FloatTensor` of shape `(batch, K, classes)`): the query actually
            extracted (per chunk refinement: classes kept in at least one chunk of the item).
        clip_probabilities (`torch.FloatTensor` of shape `(batch, classes)`, *optional*): pooled
            over the whole file; None without classifier.
        frame_probabilities (`torch.FloatTensor` of shape `(batch, frames, classes)`, *optional*):
            with `return_probabilities`.
        chunk_refined_query (`(batch, chunks, K, classes)`), chunk_bounds (`(batch, chunks, 2)`,
            core start and end in samples) and chunk_probabilities (`(batch, chunks, classes)`):
            with `refinement="chunk"` on input longer than one chunk, else None.
        frame_activity (`torch.BoolTensor` of shape `(batch, frames, classes)`, *optional*): with
            `refinement="frame"`, which classes refinement kept in which frame (queried or not);
            the frame query of query k is `query[:, k, None] * frame_activity`.
    """

    extracted_values: torch.Tensor
    refined_query: torch.Tensor
    clip_probabilities: torch.Tensor | None = None
    frame_probabilities: torch.Tensor | None = None
    chunk_refined_query: torch.Tensor | None = None
    chunk_bounds: torch.Tensor | None = None
    chunk_probabilities: torch.Tensor | None = None
    frame_activity: torch.Tensor | None = None


def check_long_form_options(refinement: str, chunk_length_s: float, context_s: float | None) -> None:
    """Raise `ValueError` for an unknown refinement mode or a negative length."""
    if refinement not in REFINEMENT_MODES:
        raise ValueError(f"refinement must be one of {REFINEMENT_MODES}, got {refinement!r}")
    if chunk_length_s < 0:
        raise ValueError(f"chunk_length_s must be >= 0 (0 = one pass), got {chunk_length_s}")
    if context_s is not None and context_s < 0:
        raise ValueError(f"context_s must be >= 0, got {context_s}")


class _Extraction:
    """One call's state: the model, its input, and the refinement settings."""

    def __init__(self, model, waveform, query, attention_mask, threshold, refine, oracle_presence, has_oracle):
        self.model, self.config = model, model.config
        self.waveform, self.query, self.attention_mask = waveform, query, attention_mask
        if attention_mask is None:
            self.lengths = torch.full((waveform.shape[0],), waveform.shape[-1], device=waveform.device)
        else:
            self.lengths = attention_mask.sum(-1)
        self.threshold, self.refine = threshold, refine
        self.oracle_presence, self.has_oracle = oracle_presence, has_oracle
        self.has_classifier = getattr(model, "classifier", None) is not None

    def encode(self, chunk) -> tuple:
        """Eqs. (1)-(2) on one chunk: mixture features X and shared features Z."""
        mixture_features = self.model.encode(self.waveform[:, chunk.start : chunk.end])
        return mixture_features, self.model.extract_shared_features(mixture_features)

    def classify(self, shared_features, chunk) -> tuple:
        """Eq. (6) frame probabilities of one chunk `(batch, frames, classes)` and the 0/1 weights
        of the frames this chunk owns and that hold real audio."""
        num_frames = shared_features.shape[-1]
        valid = frame_validity(self.config, self.lengths, num_frames, first_sample=chunk.start)
        frames = shared_features.new_zeros(shared_features.shape[0], num_frames, self.config.num_labels)
        # Items with no audio in this chunk (batch padding) are skipped: the GRU needs a frame.
        rows = valid.any(dim=1)
        if bool(rows.any()):
            frames[rows] = self.model.classify(shared_features[rows], valid[rows])[1]
        owned = torch.zeros_like(valid)
        owned[:, slice(*owned_frames(chunk, num_frames, self.config.hop_samples))] = True
        return frames, valid & owned

    def owned(self, frames, chunk):
        return frames[:, slice(*owned_frames(chunk, frames.shape[1], self.config.hop_samples))]

    def refined(self, probabilities):
        if not self.refine:
            return self.query
        return refine_items(self.query, probabilities, self.threshold, self.oracle_presence, self.has_oracle)

    def add_extraction(self, extracted, features, refined, chunk, crossfade) -> None:
        """Eqs. (3)-(5) on one chunk, weighted by its crossfade window and added to the output."""
        mixture_features, shared_features = features
        # Classification was done separately (per file or per chunk), hence no probabilities here;
        # padding is masked once over the whole output.
        analysis = QrtseAnalysis(mixture_features, shared_features, None, None, chunk.end - chunk.start)
        output = self.model.extract(analysis, refined)
        extracted[..., chunk.start : chunk.end] += output.float() * crossfade_weights(chunk, crossfade).to(
            output.device
        )

    def new_output(self):
        # The output accumulates in float32 whatever the model's dtype (chunks are summed into it).
        shape = (*self.query.shape[:2], self.waveform.shape[-1])
        return torch.zeros(shape, dtype=torch.float32, device=self.waveform.device)

    def classify_file(self, plan, cached: dict, keep_frames: bool) -> tuple:
        """Pass 1: classify every chunk and pool over the whole file. Returns the clip
        probabilities and, with `keep_frames`, each chunk's own frame probabilities; a single
        chunk's features are left in `cached` for pass 2."""
        pooling, frame_outputs = StreamingPooling(self.config.classifier_pooling), []
        for chunk in plan:
            features = self.encode(chunk)
            if len(plan) == 1:
                cached[chunk] = features
            frames, weights = self.classify(features[1], chunk)
            pooling.add(frames, weights)
            if keep_frames:
                frame_outputs.append(self.owned(frames, chunk))
        return pooling.result(), frame_outputs

    def per_file(self, plan, crossfade, return_probabilities) -> LongFormOutput:
        """Pass 1 classifies every chunk and pools over the file; pass 2 extracts with the refined
        query. A single chunk keeps its features, so short inputs take one pass."""
        cached, clip_probabilities, frame_outputs = {}, None, []
        if self.has_classifier:
            clip_probabilities, frame_outputs = self.classify_file(plan, cached, return_probabilities)
        refined = self.refined(clip_probabilities)
        extracted = self.new_output()
        for chunk in plan:
            self.add_extraction(extracted, cached.pop(chunk, None) or self.encode(chunk), refined, chunk, crossfade)
        return self.finish(extracted, refined, clip_probabilities, frame_outputs)

    def per_frame(self, plan, crossfade, return_probabilities, smoothing, activity=None) -> LongFormOutput:
        """Pass 1 collects every chunk's frame probabilities and decides, over the whole file,
        which classes are active in which frame (unless `activity` is given); pass 2 extracts
        each chunk with its frames of the time-varying query."""
        hop, num_samples = self.config.hop_samples, self.waveform.shape[-1]
        num_frames = self.config.num_frames_of(num_samples)
        cached, clip_probabilities, frame_outputs = {}, None, []
        if activity is None:
            batch_size, num_classes = self.query.shape[0], self.query.shape[-1]
            activity = torch.ones(batch_size, num_frames, num_classes, dtype=torch.bool, device=self.waveform.device)
            if self.has_classifier:
                clip_probabilities, frame_outputs = self.classify_file(plan, cached, keep_frames=True)
                frame_probabilities = torch.cat(frame_outputs, dim=1)[:, :num_frames]
                # Frames past an item's end (batch padding) count as silence in local pooling.
                valid = frame_validity(self.config, self.lengths, num_frames)[..., None]
                activity = frame_activity(
                    frame_probabilities * valid.to(frame_probabilities.dtype),
                    clip_probabilities,
                    self.threshold,
                    smoothing,
                    self.config.frame_rate,
                    self.config.classifier_pooling,
                )
            if self.has_oracle is not None and self.oracle_presence is not None:
                oracle = self.oracle_presence.to(torch.bool)[:, None].expand_as(activity)
                activity = torch.where(self.has_oracle[:, None, None], oracle, activity)
        elif activity.shape != (self.query.shape[0], num_frames, self.query.shape[-1]):
            raise ValueError(
                f"frame_activity must have shape {(self.query.shape[0], num_frames, self.query.shape[-1])} "
                f"(batch, frames, classes), got {tuple(activity.shape)}"
            )
        activity = activity.to(torch.bool) & frame_validity(self.config, self.lengths, num_frames)[..., None]
        extracted = self.new_output()
        for chunk in plan:
            features = cached.pop(chunk, None) or self.encode(chunk)
            first = chunk.start // hop
            chunk_activity = activity[:, first : first + features[0].shape[-1]]
            missing = features[0].shape[-1] - chunk_activity.shape[1]  # encoder padding past the end
            if missing > 0:
                chunk_activity = torch.cat(
                    [
                        chunk_activity,
                        chunk_activity.new_zeros(chunk_activity.shape[0], missing, chunk_activity.shape[2]),
                    ],
                    dim=1,
                )
            query = frame_query(self.query, chunk_activity)
            self.add_extraction(extracted, features, query, chunk, crossfade)
        refined = self.query * activity.any(dim=1)[:, None].to(self.query.dtype)
        output = self.finish(extracted, refined, clip_probabilities, frame_outputs if return_probabilities else [])
        if output.frame_probabilities is not None:
            output.frame_probabilities = output.frame_probabilities[:, :num_frames]
        output.frame_activity = activity
        return output

    def per_chunk(self, plan, crossfade, return_probabilities) -> LongFormOutput:
        """Classify, refine and extract each chunk on its own (one pass)."""
        extracted = self.new_output()
        file_pooling = StreamingPooling(self.config.classifier_pooling) if self.has_classifier else None
        refined_union = torch.zeros_like(self.query)
        chunk_refined, chunk_probabilities, chunk_bounds, frame_outputs = [], [], [], []
        for chunk in plan:
            features = self.encode(chunk)
            probabilities = None
            if self.has_classifier:
                frames, weights = self.classify(features[1], chunk)
                file_pooling.add(frames, weights)
                chunk_pooling = StreamingPooling(self.config.classifier_pooling)
                chunk_pooling.add(frames, weights)
                probabilities = chunk_pooling.result()
                chunk_probabilities.append(probabilities)
                if return_probabilities:
                    frame_outputs.append(self.owned(frames, chunk))
            refined = self.refined(probabilities)
            self.add_extraction(extracted, features, refined, chunk, crossfade)
            # Chunks entirely past an item's end (padding in a batch) do not count for it.
            has_audio = (self.lengths > chunk.core_start).to(refined.dtype)[:, None, None]
            refined_union = torch.maximum(refined_union, refined * has_audio)
            chunk_refined.append(refined)
            chunk_bounds.append(torch.tensor([chunk.core_start, chunk.core_end]))
        output = self.finish(
            extracted, refined_union, file_pooling.result() if self.has_classifier else None, frame_outputs
        )
        output.chunk_refined_query = torch.stack(chunk_refined, dim=1)
        output.chunk_bounds = torch.stack(chunk_bounds)[None].expand(self.query.shape[0], -1, -1)
        output.chunk_probabilities = torch.stack(chunk_probabilities, dim=1) if self.has_classifier else None
        return output

    def finish(self, extracted, refined, clip_probabilities, frame_outputs) -> LongFormOutput:
        if self.attention_mask is not None:  # zero the padding (batches, inputs shorter than a window)
            extracted = extracted * self.attention_mask[:, None].to(extracted.dtype)
        return LongFormOutput(
            extracted_values=extracted,
            refined_query=refined,
            clip_probabilities=clip_probabilities,
            frame_probabilities=torch.cat(frame_outputs, dim=1) if frame_outputs else None,
        )


def extract_long_form(
    model,
    input_values: torch.Tensor,
    query: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    threshold: float | None = None,
    refine: bool | None = None,
    oracle_presence: torch.Tensor | None = None,
    has_oracle: torch.Tensor | None = None,
    refinement: str = "file",
    chunk_length_s: float = DEFAULT_CHUNK_LENGTH_S,
    context_s: float | None = None,
    return_probabilities: bool = False,
    frame_smoothing=None,
    frame_activity: torch.Tensor | None = None,
) -> LongFormOutput:
    """Extract `query` `(batch, K, classes)` from `input_values` `(batch, time)` of any length.

    Args:
        model: a `QrtseModel` (or its `optimize_for_inference()` copy), in eval mode.
        attention_mask (`(batch, time)`, *optional*): 1 for real samples; padding is excluded from
            classification and zero in the output.
        threshold (`float` or `(classes,)` tensor, defaults to the config's per-class thresholds, else
            `config.refinement_threshold`): theta of eq. (7).
        refine (`bool`, *optional*): False extracts the query as given; True refines (ValueError
            for a model without classifier, unless every item has oracle classes). By default
            (None) a model refines with its classifier, and one without it keeps the query as
            given except for items with oracle classes.
        oracle_presence (`(batch, classes)` 0/1) and has_oracle (`(batch,)` bool), *optional*:
            items with `has_oracle` refine with their known presence instead of the classifier.
        refinement (`"file"`, `"chunk"` or `"frame"`), chunk_length_s (0: one pass), context_s
            (default: the exact context, `chunking_qrtse.context_samples`): see the module docstring.
        return_probabilities (`bool`): also return the frame probabilities.
        frame_smoothing (`dict` or `FrameSmoothing`, defaults to `config.frame_smoothing`): how
            `refinement="frame"` smooths its frame decisions (`frame_refinement_qrtse`).
        frame_activity (`(batch, frames, classes)` bool, *optional*): with `refinement="frame"`,
            refine per frame with this activity instead of the classifier's (the oracle-frame
            upper bound, from the sources' activity); frames as `config.num_frames_of(time)`.

    """
    config = model.config
    check_long_form_options(refinement, chunk_length_s, context_s)
    smoothing = FrameSmoothing.from_dict(config.frame_smoothing if frame_smoothing is None else frame_smoothing)
    if frame_activity is not None and refinement != "frame":
        raise ValueError(f'frame_activity needs refinement="frame", got refinement={refinement!r}')
    has_classifier = getattr(model, "classifier", None) is not None
    oracle_everywhere = has_oracle is not None and bool(has_oracle.all())
    if refine and not has_classifier and not oracle_everywhere and frame_activity is None:
        raise ValueError(
            "This model has no classifier (use_classifier=False): pass oracle_classes=[...] or refine=False"
        )
    refine = True if refine is None else refine
    waveform = input_values.to(model.dtype)
    num_samples = waveform.shape[-1]
    threshold = resolve_threshold(config, threshold)
    check_threshold(threshold, config.num_labels)
    rate, hop = config.sampling_rate, config.hop_samples
    chunk_samples = round(chunk_length_s * rate) if chunk_length_s > 0 else num_samples
    crossfade = min(round(CROSSFADE_S * rate), chunk_samples // 2)
    context = context_samples(config, crossfade) if context_s is None else round(context_s * rate)
    plan = plan_chunks(num_samples, chunk_samples, context, hop)
    if len(plan) > 1 and config.norm_type != "cLN":
        logger.warning_once(
            f"norm_type={config.norm_type!r} normalises over the whole input, so chunked extraction only "
            "approximates one pass; use chunk_length_s=0 for the exact result (memory grows with length)"
        )
    extraction = _Extraction(model, waveform, query, attention_mask, threshold, refine, oracle_presence, has_oracle)
    if refinement == "frame" and refine:
        return extraction.per_frame(plan, crossfade, return_probabilities, smoothing, frame_activity)
    if refinement == "chunk" and len(plan) > 1:
        return extraction.per_chunk(plan, crossfade, return_probabilities)
    return extraction.per_file(plan, crossfade, return_probabilities)
