"""Long-form extraction with query refinement: chunked, overlap-save, bounded memory.

`extract_long_form(model, waveform, query, ...)` is the one long-form implementation (as asteroid's
`LambdaOverlapAdd` or demucs' `apply_model` sit beside their models): the pipeline calls it, and the
CLI, the Space and batch extraction go through the pipeline. Input that fits one chunk takes one
pass and equals `QrtseModel.forward` (what `qrtse.training.evaluate` scores on its 6 s mixtures); longer
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

A causal model (`config.causal`) refines online by default (`refinement="online"`, refused for
other models): one pass, each chunk's frames refined as the model streams them
(`QrtseModel.refine_online`: trailing presence, hysteresis), so that input that fits one chunk
equals `QrtseModel.forward` and `QrtseStreamer` exactly; a longer input's online presence restarts
at each chunk's context, which is at least the presence window. The refined query reports the
classes kept in some frame, and the frame decisions are returned as `frame_activity`.

A batch of inputs of different lengths (zero-padded, with an `attention_mask`) gives each input
the result it gets alone, to float rounding: each is cut by its own chunk plan
(`chunking_qrtse.plan_batch_chunks`), the model masks everything past the end of each item's chunk
(`QrtseModel.encode` / `extract_shared_features` / `estimate_mask` with a frame mask), and frame
decisions are smoothed over each item's own frames.

Shipped as remote code next to the model: flat sibling imports and torch only.
"""

import math
import numbers

import torch
from transformers.utils import logging

from .chunking_qrtse import StreamingPooling, context_samples, plan_batch_chunks
from .frame_refinement_qrtse import frame_activity, frame_query
from .frame_smoothing_qrtse import FrameSmoothing
from .modeling_qrtse import QrtseAnalysis, QrtseOutput
from .refinement_qrtse import ORACLE_THRESHOLD, check_threshold, resolve_threshold

logger = logging.get_logger(__name__)

REFINEMENT_MODES = ("file", "chunk", "frame", "online")
ONLINE_NEEDS_CAUSAL = 'refinement="online" needs a causal model (config.causal); this one reads future frames'


def default_refinement(config) -> str:
    """`"online"` for a causal model (as it streams), `"file"` otherwise."""
    return "online" if getattr(config, "causal", False) else "file"


DEFAULT_CHUNK_LENGTH_S = 30.0
# Long enough to hide a change of query between chunks (refinement="chunk"), short enough to
# stay far inside the exact region of each chunk.
CROSSFADE_S = 0.05
# Shortest chunk core, two crossfades: shorter chunks are nearly all overhead (0 = one pass).
MIN_CHUNK_LENGTH_S = 2 * CROSSFADE_S


def check_long_form_options(refinement: str, chunk_length_s: float, context_s: float | None, config=None) -> None:
    """Raise `ValueError` for an unknown refinement mode, a length that is not a finite number
    >= 0, or a `chunk_length_s` other than 0 (one pass) below the minimum: `MIN_CHUNK_LENGTH_S`,
    and the context per side (`context_s`, else given the model's `config` its exact context), so
    that each chunk processes at most three times its core."""
    if refinement not in REFINEMENT_MODES:
        raise ValueError(f"refinement must be one of {REFINEMENT_MODES}, got {refinement!r}")
    if refinement == "online" and config is not None and not getattr(config, "causal", False):
        raise ValueError(ONLINE_NEEDS_CAUSAL)
    for name, value in (("chunk_length_s", chunk_length_s), ("context_s", context_s)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise ValueError(f"{name} must be a number of seconds, got {value!r}")
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value}")
    if chunk_length_s == 0:
        return
    minimum = MIN_CHUNK_LENGTH_S
    if context_s is not None:
        minimum = max(minimum, context_s)
    elif config is not None:
        rate = config.sampling_rate
        minimum = max(minimum, context_samples(config, round(CROSSFADE_S * rate)) / rate)
    if chunk_length_s < minimum:
        raise ValueError(
            f"chunk_length_s must be 0 (one pass) or at least {minimum:.3g} s (the context per side, and at "
            f"least {MIN_CHUNK_LENGTH_S} s), got {chunk_length_s}"
        )


class _Extraction:
    """One call's state: the model, its input, and the refinement settings. Every step on the
    audio is the model's own (`analyze`, `refine`, `extract`); this class plans and combines."""

    def __init__(self, model, waveform, query, attention_mask, threshold, oracle_presence, has_oracle):
        self.model, self.config = model, model.config
        self.waveform, self.query, self.attention_mask = waveform, query, attention_mask
        if attention_mask is None:
            self.lengths = torch.full((waveform.shape[0],), waveform.shape[-1], device=waveform.device)
        else:
            self.lengths = attention_mask.sum(-1)
        self.threshold = threshold
        self.oracle_presence, self.has_oracle = oracle_presence, has_oracle
        self.has_classifier = getattr(model, "classifier", None) is not None

    def analyze(self, chunk, classify: bool) -> QrtseAnalysis:
        """`model.analyze` of one chunk: each item's own chunk, whatever lies past it in the batch's
        slice masked as padding (the output there is dropped by its crossfade weights)."""
        waveform = self.waveform[:, chunk.start : chunk.end]
        lengths = chunk.lengths().to(waveform.device)
        attention_mask = None
        if bool((lengths < waveform.shape[-1]).any()):
            attention_mask = torch.arange(waveform.shape[-1], device=waveform.device) < lengths[:, None]
        return self.model.analyze(waveform, attention_mask, classify=classify)

    def frame_weights(self, analysis, chunk) -> torch.Tensor:
        """0/1 weights `(batch, frames)` of the chunk's frames that each item's chunk owns and
        that hold real audio."""
        valid = analysis.valid_frames
        return valid & chunk.owned_frames(valid.shape[-1], self.config.hop_samples).to(valid.device)

    def new_frames(self, dtype=None):
        """The file's frame probabilities `(batch, frames, classes)` (or, in `dtype`, decisions),
        filled chunk by chunk."""
        num_frames = self.config.num_frames_of(self.waveform.shape[-1])
        return self.waveform.new_zeros(self.waveform.shape[0], num_frames, self.config.num_labels, dtype=dtype)

    def place_frames(self, file_frames, frames, weights, chunk) -> None:
        """Write the frames of one chunk that each item's chunk owns and that hold audio into
        `file_frames` (chunk starts are whole hops, so chunk frames are file frames)."""
        first = chunk.start // self.config.hop_samples
        file_frames[:, first : first + frames.shape[1]][weights] = frames[weights]

    def refined(self, probabilities):
        return self.model.refine(self.query, probabilities, self.threshold, self.oracle_presence, self.has_oracle)

    def add_extraction(self, extracted, analysis, refined, chunk, crossfade) -> None:
        """Eqs. (3)-(5) on one chunk, weighted by each item's crossfade window and added to the output."""
        output = self.model.extract(analysis, refined)
        weights = chunk.crossfade_weights(crossfade).to(output.device)
        extracted[..., chunk.start : chunk.end] += output.float() * weights[:, None]

    def new_output(self):
        # The output accumulates in float32 whatever the model's dtype (chunks are summed into it).
        shape = (*self.query.shape[:2], self.waveform.shape[-1])
        return torch.zeros(shape, dtype=torch.float32, device=self.waveform.device)

    def classify_file(self, plan, cached: dict, keep_frames: bool) -> tuple:
        """Pass 1: classify every chunk and pool over the whole file. Returns the clip
        probabilities and, with `keep_frames`, the file's frame probabilities; a single chunk's
        features are left in `cached` for pass 2."""
        pooling = StreamingPooling(self.config.classifier_pooling)
        file_frames = self.new_frames() if keep_frames else None
        for chunk in plan:
            analysis = self.analyze(chunk, classify=True)
            if len(plan) == 1:
                cached[chunk] = analysis
            frames, weights = analysis.frame_probabilities, self.frame_weights(analysis, chunk)
            pooling.add(frames, weights)
            if keep_frames:
                self.place_frames(file_frames, frames, weights, chunk)
        return pooling.result(), file_frames

    def per_file(self, plan, crossfade, return_probabilities) -> QrtseOutput:
        """Pass 1 classifies every chunk and pools over the file; pass 2 extracts with the refined
        query. A single chunk keeps its features, so short inputs take one pass."""
        cached, clip_probabilities, frame_probabilities = {}, None, None
        if self.has_classifier:
            clip_probabilities, frame_probabilities = self.classify_file(plan, cached, return_probabilities)
        refined = self.refined(clip_probabilities)
        extracted = self.new_output()
        for chunk in plan:
            analysis = cached.pop(chunk, None) or self.analyze(chunk, classify=False)
            self.add_extraction(extracted, analysis, refined, chunk, crossfade)
        return self.finish(extracted, refined, clip_probabilities, frame_probabilities)

    def activity_per_item(self, frame_probabilities, clip_probabilities, smoothing) -> torch.Tensor:
        """`frame_activity` of each item over its own frames `(batch, frames, classes)`, False past
        them: smoothing and local pooling read each item's end as they do when it is alone."""
        activity = torch.zeros(frame_probabilities.shape, dtype=torch.bool, device=frame_probabilities.device)
        for row, length in enumerate(self.lengths.tolist()):
            frames = self.config.num_frames_of(length)
            activity[row, :frames] = frame_activity(
                frame_probabilities[row : row + 1, :frames],
                clip_probabilities[row : row + 1],
                self.threshold,
                smoothing,
                self.config.frame_rate,
                self.config.classifier_pooling,
            )[0]
        return activity

    def per_frame(self, plan, crossfade, return_probabilities, smoothing, activity=None) -> QrtseOutput:
        """Pass 1 collects every chunk's frame probabilities and decides, over the whole file,
        which classes are active in which frame (unless `activity` is given); pass 2 extracts
        each chunk with its frames of the time-varying query."""
        hop, num_samples = self.config.hop_samples, self.waveform.shape[-1]
        num_frames = self.config.num_frames_of(num_samples)
        cached, clip_probabilities, frame_probabilities = {}, None, None
        if activity is None:
            batch_size, num_classes = self.query.shape[0], self.query.shape[-1]
            activity = torch.ones(batch_size, num_frames, num_classes, dtype=torch.bool, device=self.waveform.device)
            if self.has_classifier:
                clip_probabilities, frame_probabilities = self.classify_file(plan, cached, keep_frames=True)
                activity = self.activity_per_item(frame_probabilities, clip_probabilities, smoothing)
            if self.has_oracle is not None and self.oracle_presence is not None:
                oracle = self.oracle_presence.to(torch.bool)[:, None].expand_as(activity)
                activity = torch.where(self.has_oracle[:, None, None], oracle, activity)
        elif activity.shape != (self.query.shape[0], num_frames, self.query.shape[-1]):
            raise ValueError(
                f"frame_activity must have shape {(self.query.shape[0], num_frames, self.query.shape[-1])} "
                f"(batch, frames, classes), got {tuple(activity.shape)}"
            )
        activity = activity.to(torch.bool) & self.model.valid_frames(self.lengths, num_frames)[..., None]
        extracted = self.new_output()
        for chunk in plan:
            analysis = cached.pop(chunk, None) or self.analyze(chunk, classify=False)
            first = chunk.start // hop
            chunk_activity = activity[:, first : first + analysis.mixture_features.shape[-1]]
            self.add_extraction(extracted, analysis, frame_query(self.query, chunk_activity), chunk, crossfade)
        refined = self.query * activity.any(dim=1)[:, None].to(self.query.dtype)
        output = self.finish(
            extracted, refined, clip_probabilities, frame_probabilities if return_probabilities else None
        )
        output.frame_activity = activity
        return output

    def online(self, plan, crossfade, return_probabilities) -> QrtseOutput:
        """A causal model: each chunk refined online and extracted (one pass); the file's
        probabilities pooled as for `per_file`, its frame decisions kept as `frame_activity`."""
        extracted = self.new_output()
        pooling = StreamingPooling(self.config.classifier_pooling) if self.has_classifier else None
        file_frames = self.new_frames() if return_probabilities and self.has_classifier else None
        activity = self.new_frames(torch.bool)
        for chunk in plan:
            analysis = self.analyze(chunk, classify=True)
            weights = self.frame_weights(analysis, chunk)
            if self.has_classifier:
                pooling.add(analysis.frame_probabilities, weights)
                if file_frames is not None:
                    self.place_frames(file_frames, analysis.frame_probabilities, weights, chunk)
            refined = self.model.refine_online(self.query, analysis, self.threshold)
            self.add_extraction(extracted, analysis, refined, chunk, crossfade)
            self.place_frames(activity, refined.amax(1) > 0, weights, chunk)
        kept = self.query * activity.any(dim=1)[:, None].to(self.query.dtype)
        output = self.finish(extracted, kept, pooling.result() if self.has_classifier else None, file_frames)
        output.frame_activity = activity
        return output

    def per_chunk(self, plan, crossfade, return_probabilities) -> QrtseOutput:
        """Classify, refine and extract each chunk on its own (one pass)."""
        extracted = self.new_output()
        file_pooling = StreamingPooling(self.config.classifier_pooling) if self.has_classifier else None
        file_frames = self.new_frames() if return_probabilities and self.has_classifier else None
        refined_union = torch.zeros_like(self.query)
        chunk_refined, chunk_probabilities, chunk_bounds = [], [], []
        for chunk in plan:
            analysis = self.analyze(chunk, classify=True)
            probabilities = None
            if self.has_classifier:
                frames, weights = analysis.frame_probabilities, self.frame_weights(analysis, chunk)
                file_pooling.add(frames, weights)
                chunk_pooling = StreamingPooling(self.config.classifier_pooling)
                chunk_pooling.add(frames, weights)
                probabilities = chunk_pooling.result()
                chunk_probabilities.append(probabilities)
                if file_frames is not None:
                    self.place_frames(file_frames, frames, weights, chunk)
            refined = self.refined(probabilities)
            self.add_extraction(extracted, analysis, refined, chunk, crossfade)
            # Chunks an item does not have (it is shorter than others in the batch) do not count for it.
            bounds = [
                (length, length) if item is None else (item.core_start, item.core_end)
                for item, length in zip(chunk.items, self.lengths.tolist())
            ]
            has_chunk = torch.tensor([item is not None for item in chunk.items], device=refined.device)
            refined_union = torch.maximum(refined_union, refined * has_chunk.to(refined.dtype)[:, None, None])
            chunk_refined.append(refined)
            chunk_bounds.append(torch.tensor(bounds))
        output = self.finish(
            extracted, refined_union, file_pooling.result() if self.has_classifier else None, file_frames
        )
        output.chunk_refined_query = torch.stack(chunk_refined, dim=1)
        output.chunk_bounds = torch.stack(chunk_bounds, dim=1)
        output.chunk_probabilities = torch.stack(chunk_probabilities, dim=1) if self.has_classifier else None
        return output

    def finish(self, extracted, refined, clip_probabilities, frame_probabilities) -> QrtseOutput:
        if self.attention_mask is not None:  # zero the padding (batches, inputs shorter than a window)
            extracted = extracted * self.attention_mask[:, None].to(extracted.dtype)
        return QrtseOutput(
            extracted_values=extracted,
            refined_query=refined,
            clip_probabilities=clip_probabilities,
            frame_probabilities=frame_probabilities,
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
    refinement: str | None = None,
    chunk_length_s: float = DEFAULT_CHUNK_LENGTH_S,
    context_s: float | None = None,
    return_probabilities: bool = False,
    frame_smoothing=None,
    frame_activity: torch.Tensor | None = None,
) -> QrtseOutput:
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
        refinement (`"file"`, `"chunk"`, `"frame"` or `"online"`; default `"online"` for a causal
            model, else `"file"`), chunk_length_s (0: one pass), context_s (default: the exact
            context, `chunking_qrtse.context_samples`): see the module docstring.
        return_probabilities (`bool`): also return the frame probabilities.
        frame_smoothing (`dict` or `FrameSmoothing`, defaults to `config.frame_smoothing`): how
            `refinement="frame"` smooths its frame decisions (`frame_refinement_qrtse`).
        frame_activity (`(batch, frames, classes)` bool, *optional*): with `refinement="frame"`,
            refine per frame with this activity instead of the classifier's (the oracle-frame
            upper bound, from the sources' activity); frames as `config.num_frames_of(time)`.

    """
    config = model.config
    refinement = default_refinement(config) if refinement is None else refinement
    check_long_form_options(refinement, chunk_length_s, context_s, config)
    smoothing = FrameSmoothing.from_dict(config.frame_smoothing if frame_smoothing is None else frame_smoothing)
    if frame_activity is not None and refinement != "frame":
        raise ValueError(f'frame_activity needs refinement="frame", got refinement={refinement!r}')
    threshold = resolve_threshold(config, threshold)
    check_threshold(threshold, config.num_labels)
    has_classifier = getattr(model, "classifier", None) is not None
    if refine is False:  # the query as given: theta = 0, no oracle
        threshold, oracle_presence, has_oracle = 0.0, None, None
    elif not has_classifier and frame_activity is None:
        if refine:  # must refine: only oracle items can (else the model's one "no classifier" error)
            model.refine(query, None, ORACLE_THRESHOLD, oracle_presence, has_oracle)
        threshold = 0.0  # nothing to refine with but the oracle
    waveform = input_values.to(model.dtype)
    num_samples = waveform.shape[-1]
    rate, hop = config.sampling_rate, config.hop_samples
    chunk_samples = round(chunk_length_s * rate) if chunk_length_s > 0 else num_samples
    crossfade = min(round(CROSSFADE_S * rate), chunk_samples // 2)
    context = context_samples(config, crossfade) if context_s is None else round(context_s * rate)
    extraction = _Extraction(model, waveform, query, attention_mask, threshold, oracle_presence, has_oracle)
    plan = plan_batch_chunks(extraction.lengths.tolist(), chunk_samples, context, hop)
    if len(plan) > 1 and config.norm_type != "cLN":
        logger.warning_once(
            f"norm_type={config.norm_type!r} normalises over the whole input, so chunked extraction only "
            "approximates one pass; use chunk_length_s=0 for the exact result (memory grows with length)"
        )
    if refinement == "frame" and refine is not False:
        return extraction.per_frame(plan, crossfade, return_probabilities, smoothing, frame_activity)
    if refinement == "chunk" and len(plan) > 1:
        return extraction.per_chunk(plan, crossfade, return_probabilities)
    oracle_items = has_oracle is not None and bool(has_oracle.any())
    if refinement == "online" and not oracle_items:  # known classes refine per file (the oracle)
        return extraction.online(plan, crossfade, return_probabilities)
    return extraction.per_file(plan, crossfade, return_probabilities)
