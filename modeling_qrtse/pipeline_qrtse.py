"""`pipeline("target-sound-extraction")`: extract the sounds a query names from a mixture, with
context-aware query refinement (paper Section 3.2, eq. 7).

Shipped as remote code next to the model: flat sibling imports and torch/numpy/transformers only.
"""

import numpy as np
import torch
from transformers import Pipeline
from transformers.utils import logging

from .audio_inputs_qrtse import load_audio
from .chunking_qrtse import StreamingPooling, context_samples, crossfade_weights, owned_frames, plan_chunks
from .modeling_qrtse import QrtseAnalysis
from .query_qrtse import multi_hot_to_labels, parse_query
from .refinement_qrtse import check_threshold

logger = logging.get_logger(__name__)

TASK = "target-sound-extraction"
REFINEMENT_MODES = ("file", "chunk")
DEFAULT_CHUNK_LENGTH_S = 30.0
# Long enough to hide a change of query between chunks (refinement="chunk"), short enough to
# stay far inside the exact region of each chunk.
CROSSFADE_S = 0.05


def _is_hf_dataset(inputs) -> bool:
    """A `datasets.Dataset` / `IterableDataset`, recognised without importing datasets."""
    return type(inputs).__module__.startswith("datasets.") and hasattr(inputs, "column_names")


class TargetSoundExtractionPipeline(Pipeline):
    r"""
    Target sound extraction with context-aware query refinement (Sato et al., Section 3).

    ```python
    >>> from transformers import pipeline
    >>> import modeling_qrtse  # registers the task; or pass trust_remote_code=True with a Hub model
    >>> extractor = pipeline("target-sound-extraction")  # the embedded default checkpoint, offline
    >>> out = extractor("mixture.wav", query=["Trumpet", "Bark"], threshold=0.1)
    >>> out["refined_query"], out["class_probabilities"]["Bark"], out["audio"].shape
    ```

    A saved folder or Hub repo carries this pipeline's code (`pipe.save_pretrained`), so
    `pipeline(model=repo, trust_remote_code=True)` works without the package. With the package
    imported, transformers still asks for `trust_remote_code=True` for such a repo (it reads the
    repo's `custom_pipelines` before its own registry) unless you pass
    `pipeline_class=TargetSoundExtractionPipeline`.

    **Inputs** (AudioClassificationPipeline's conventions): a file path or http(s) URL, `bytes` of
    an encoded file, a numpy array or torch tensor *at the model rate* (`sampling_rate` of the
    feature extractor, 16 kHz by default), a dict with `"sampling_rate"` and `"array"` or `"raw"`,
    a datasets audio value (torchcodec `AudioDecoder`, or `{"bytes", "path"}`), a datasets row
    (dict with an `"audio"` key and optional per-item `"query"` / `"oracle_classes"`), or a list,
    generator or `datasets.Dataset` of these (a list returns a list; a generator or Dataset
    returns an iterator that streams results). Any sample rate is resampled with soxr; channels are
    averaged (for a 2-D array the shorter axis is taken as channels); integer PCM is scaled to
    [-1, 1). Empty or NaN/Inf audio raises `ValueError`; a missing file `FileNotFoundError`; an
    undecodable file `ValueError`.

    **Call parameters** (also accepted by `pipeline(...)` as defaults):
        query: the classes to extract together, as label names (case and `_`/space insensitive;
            unknown names raise `ValueError` with suggestions, e.g. "dog" -> "Bark"), class
            indices, or a multi-hot numpy array / tensor. A list of such query sets (or a 2-D
            array) extracts one target per set in one pass; the result for each input is then a
            list with one dict per set. An empty query raises `ValueError`.
        threshold (`float`, defaults to `config.refinement_threshold`): theta of eq. (7); a query
            class is kept only if its estimated presence probability is >= theta. 0 keeps all.
        refine (`bool`, defaults to True): False uses the query as given (the paper's
            theta = 0.00 rows). A model without classifier can only refine with `oracle_classes`;
            by default it uses the query as given, and refine=True without them raises ValueError.
        oracle_classes: classes known to be present (names, indices or multi-hot); refines with
            these instead of the classifier (the paper's oracle upper bound). Ignored when
            refine=False.
        refinement (`"file"` or `"chunk"`, defaults to `"file"`): where the refinement decision is
            made on audio longer than one chunk. `"file"`: once per file, from clip probabilities
            pooled over every frame of the file; chunk-level frame probabilities are combined with
            the classifier's own pooling (for linear-softmax, sum(p^2) / sum(p) accumulated over
            chunks), so only the BiGRU's context is limited to the chunk. This takes two passes
            over the file (classify, then extract), recomputing the encoder and shared features
            (about a third more compute), so that model activations stay bounded by one chunk;
            the input and output waveforms are held whole. Input that fits one chunk takes one
            pass and equals `QrtseModel.forward` exactly. `"chunk"`: each chunk is refined with its own
            probabilities, the temporal refinement that the paper's Section 5 suggests for
            sounds active in only part of a long recording; one pass; choose `chunk_length_s`
            as the refinement granularity (the paper trains on 6 s clips).
        chunk_length_s (`float`, defaults to 30): length of the core of each chunk. Each chunk is
            processed with `context_s` of extra audio on each side, which is discarded
            (overlap-save), and neighbours are joined by a 50 ms crossfade. 0 processes the whole
            input in one pass (memory grows with its length).
        context_s (`float`, defaults to the model's exact context): extra audio per side of each
            chunk. The default (half the receptive field, one encoder window and half the
            crossfade; 0.5 s for the small preset, 2.6 s for the paper's) makes chunked extraction
            equal one-pass extraction up to float rounding (for cLN models; gLN models normalise
            over the whole input, so chunks are an approximation there). Less context is faster
            and approximate; the crossfade then hides the small jumps at chunk borders.
        return_probabilities (`bool`, defaults to False): also return frame-level probabilities
            (held whole: 400 frames x classes floats per second of audio at the default hop).
        output_sampling_rate (`None`, `"input"` or `int`, defaults to None): rate of the returned
            audio. None returns the model rate, which carries all the bandwidth the model
            produced; `"input"` resamples back to each input's own rate; an int to that rate.

    **Construction parameter**: `optimize_for_inference=True` runs a fused copy of the model
    (`QrtseModel.optimize_for_inference`): same outputs to float rounding, faster on CPU.

    **Output** (per input and query set): a dict with
        - `"audio"`: float32 array `(samples,)`, the extracted target at `"sampling_rate"`;
        - `"sampling_rate"`: int (the model rate unless `output_sampling_rate` says otherwise);
        - `"query"`: the query's labels; `"refined_query"`: the labels actually extracted after
          eq. (7) (with `refinement="chunk"`: the labels kept in at least one chunk);
        - `"class_probabilities"`: `{label: p}` for every class, highest first, pooled over the
          whole file (None for a model without classifier);
        - with `refinement="chunk"`: `"chunks"`, a list of `{"start", "end", "refined_query"}` in
          seconds (plus `"class_probabilities"` when `return_probabilities`);
        - with `return_probabilities`: `"frame_probabilities"` `(frames, classes)` float32 and
          `"frame_rate"` (frame f starts at `(f * hop - (window - hop)) / rate` seconds).

    Silence gives exact silence (the encoder and decoder have no bias). A query that refinement
    empties (no queried class detected, the paper's FUQ case) gives the model's output for the
    zero query, strongly attenuated by training (Table 1), or exact zeros when
    `config.silence_empty_query`. With `batch_size > 1` shorter inputs are zero-padded to the
    longest in the batch and share its chunk grid; within one context of their end their output
    can differ slightly from `batch_size=1`, as with any padded batch.
    """

    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = True
    _load_tokenizer = False
    _load_video_processor = False

    def __init__(self, *args, optimize_for_inference: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if optimize_for_inference:
            # Opt-in: a fused copy of the model (same outputs to float rounding, ~1.5x faster on
            # CPU; see fast_inference_qrtse). A model from an older Hub repo may lack the method.
            if not hasattr(self.model, "optimize_for_inference"):
                raise ValueError("this model's code has no optimize_for_inference(); load it with the qrtse package")
            self.model = self.model.optimize_for_inference()

    def __call__(self, inputs, **kwargs):
        if _is_hf_dataset(inputs):
            # A datasets.Dataset is not a torch Dataset: feed it as a generator so results stream.
            inputs = (row for row in inputs)
        return super().__call__(inputs, **kwargs)

    def save_pretrained(self, save_directory, **kwargs):
        """Save model, feature extractor and this pipeline's code (`custom_pipelines` in
        config.json), so `pipeline(model=folder_or_repo, trust_remote_code=True)` works without
        the package. The registry's default model is a folder of this installation, meaningless
        anywhere else, so it is left out of the saved task description."""
        registered = getattr(type(self), "_registered_impl", None)
        if registered:
            self._registered_impl = {
                task: {key: value for key, value in info.items() if key != "default"}
                for task, info in registered.items()
            }
        try:
            super().save_pretrained(save_directory, **kwargs)
        finally:
            self.__dict__.pop("_registered_impl", None)

    def _sanitize_parameters(
        self,
        query=None,
        oracle_classes=None,
        threshold=None,
        refine=None,
        refinement=None,
        chunk_length_s=None,
        context_s=None,
        return_probabilities=None,
        output_sampling_rate=None,
    ):
        preprocess, forward, postprocess = {}, {}, {}
        if query is not None:
            parse_query(query, self.model.config.label2id)  # fail at call time, not deep in a loop
            preprocess["query"] = query
        if oracle_classes is not None:
            preprocess["oracle_classes"] = oracle_classes
        if threshold is not None:
            check_threshold(threshold)
            forward["threshold"] = float(threshold)
        if refine is not None:
            forward["refine"] = bool(refine)
        if refinement is not None:
            if refinement not in REFINEMENT_MODES:
                raise ValueError(f"refinement must be one of {REFINEMENT_MODES}, got {refinement!r}")
            forward["refinement"] = refinement
        if chunk_length_s is not None:
            if chunk_length_s < 0:
                raise ValueError(f"chunk_length_s must be >= 0 (0 = one pass), got {chunk_length_s}")
            forward["chunk_length_s"] = float(chunk_length_s)
        if context_s is not None:
            if context_s < 0:
                raise ValueError(f"context_s must be >= 0, got {context_s}")
            forward["context_s"] = float(context_s)
        if return_probabilities is not None:
            forward["return_probabilities"] = postprocess["return_probabilities"] = bool(return_probabilities)
        if output_sampling_rate is not None:
            if output_sampling_rate != "input" and not (
                isinstance(output_sampling_rate, int) and output_sampling_rate > 0
            ):
                raise ValueError(
                    f"output_sampling_rate must be None, 'input' or a positive int, got {output_sampling_rate!r}"
                )
            postprocess["output_sampling_rate"] = output_sampling_rate
        return preprocess, forward, postprocess

    # --- preprocess: any input -> mono float32 at the model rate, plus the parsed query ---

    def preprocess(self, inputs, query=None, oracle_classes=None):
        if isinstance(inputs, dict) and "audio" in inputs:
            # A datasets row: per-item query / oracle classes override the call's.
            query = inputs.get("query", query)
            oracle_classes = inputs.get("oracle_classes", oracle_classes)
            inputs = inputs["audio"]
        config = self.model.config
        audio, sampling_rate = load_audio(inputs, self.feature_extractor.sampling_rate)
        if np.size(audio) == 0:  # before down-mixing, which cannot tell the axes of an empty array apart
            raise ValueError("audio is empty")
        features = self.feature_extractor(
            audio, sampling_rate=sampling_rate, return_tensors="pt", return_attention_mask=True
        )
        input_values, attention_mask = features["input_values"], features["attention_mask"]
        if input_values.shape[-1] < config.window_samples:
            # Shorter than one encoder window: pad, mask, and crop the output back.
            missing = config.window_samples - input_values.shape[-1]
            input_values = torch.nn.functional.pad(input_values, (0, missing))
            attention_mask = torch.nn.functional.pad(attention_mask, (0, missing))
        queries, several = parse_query(query, config.label2id)
        oracle = np.zeros(config.num_labels, np.float32)
        if oracle_classes is not None:
            oracle_sets, several_sets = parse_query(oracle_classes, config.label2id, allow_empty=True)
            if several_sets:
                raise ValueError("oracle_classes must be one set of classes (those present in the mixture)")
            oracle = oracle_sets[0]
        return {
            "input_values": input_values.to(torch.float32),
            "attention_mask": attention_mask.to(torch.long),
            "query": torch.from_numpy(queries)[None],
            "several_queries": torch.tensor([several]),
            "oracle_presence": torch.from_numpy(oracle)[None],
            "has_oracle": torch.tensor([oracle_classes is not None]),
            "input_sampling_rate": torch.tensor([int(sampling_rate)]),
        }

    # --- forward: chunked extraction with query refinement ---

    def _forward(
        self,
        model_inputs,
        threshold=None,
        refine=None,
        refinement="file",
        chunk_length_s=DEFAULT_CHUNK_LENGTH_S,
        context_s=None,
        return_probabilities=False,
    ):
        model, config = self.model, self.model.config
        waveform = model_inputs["input_values"].to(model.dtype)
        lengths = model_inputs["attention_mask"].sum(-1)
        query = model_inputs["query"]
        threshold = config.refinement_threshold if threshold is None else threshold
        has_classifier = getattr(model, "classifier", None) is not None
        if refine and not has_classifier and not bool(model_inputs["has_oracle"].all()):
            raise ValueError(
                "This model has no classifier (use_classifier=False): pass oracle_classes=[...] or refine=False"
            )
        refine = True if refine is None else refine

        rate, hop, num_samples = config.sampling_rate, config.hop_samples, waveform.shape[-1]
        chunk_samples = round(chunk_length_s * rate) if chunk_length_s > 0 else num_samples
        crossfade = min(round(CROSSFADE_S * rate), chunk_samples // 2)
        context = context_samples(config, crossfade) if context_s is None else round(context_s * rate)
        plan = plan_chunks(num_samples, chunk_samples, context, hop)
        if len(plan) > 1 and config.norm_type != "cLN":
            logger.warning_once(
                f"norm_type={config.norm_type!r} normalises over the whole input, so chunked extraction only "
                "approximates one pass; use chunk_length_s=0 for the exact result (memory grows with length)"
            )
        if refinement == "chunk" and len(plan) > 1:
            return self._extract_refining_per_chunk(
                model_inputs, plan, waveform, lengths, threshold, refine, crossfade, return_probabilities
            )

        # refinement="file": pass 1 classifies every chunk and pools over the file; pass 2 extracts
        # with the refined query. A single chunk keeps its features, so short inputs take one pass.
        cached = {}
        clip_probabilities, frame_outputs = None, []
        if has_classifier:
            pooling = StreamingPooling(config.classifier_pooling)
            for chunk in plan:
                mixture_features, shared_features = self._encode(waveform, chunk)
                if len(plan) == 1:
                    cached[chunk] = (mixture_features, shared_features)
                frames, weights = self._classify(shared_features, chunk, lengths)
                pooling.add(frames, weights)
                if return_probabilities:
                    frame_outputs.append(frames[:, slice(*owned_frames(chunk, frames.shape[1], hop))])
            clip_probabilities = pooling.result()
        refined = self._refine(query, clip_probabilities, model_inputs, threshold, refine)
        # The output accumulates in float32 whatever the model's dtype (chunks are summed into it).
        extracted = torch.zeros(*query.shape[:2], num_samples, dtype=torch.float32, device=waveform.device)
        for chunk in plan:
            features = cached.pop(chunk, None) or self._encode(waveform, chunk)
            self._add_extraction(extracted, features, refined, chunk, crossfade)
        return self._model_outputs(
            model_inputs, extracted, refined, clip_probabilities, frame_outputs, return_probabilities
        )

    def _extract_refining_per_chunk(
        self, model_inputs, plan, waveform, lengths, threshold, refine, crossfade, return_probabilities
    ):
        """refinement="chunk": classify, refine and extract each chunk on its own (one pass)."""
        model, config = self.model, self.model.config
        query = model_inputs["query"]
        has_classifier = getattr(model, "classifier", None) is not None
        extracted = torch.zeros(*query.shape[:2], waveform.shape[-1], dtype=torch.float32, device=waveform.device)
        file_pooling = StreamingPooling(config.classifier_pooling) if has_classifier else None
        refined_union = torch.zeros_like(query)
        chunk_refined, chunk_probabilities, chunk_bounds, frame_outputs = [], [], [], []
        for chunk in plan:
            features = self._encode(waveform, chunk)
            probabilities = None
            if has_classifier:
                frames, weights = self._classify(features[1], chunk, lengths)
                file_pooling.add(frames, weights)
                chunk_pooling = StreamingPooling(config.classifier_pooling)
                chunk_pooling.add(frames, weights)
                probabilities = chunk_pooling.result()
                chunk_probabilities.append(probabilities)
                if return_probabilities:
                    frame_outputs.append(frames[:, slice(*owned_frames(chunk, frames.shape[1], config.hop_samples))])
            refined = self._refine(query, probabilities, model_inputs, threshold, refine)
            self._add_extraction(extracted, features, refined, chunk, crossfade)
            # Chunks entirely past an item's end (padding in a batch) do not count for it.
            has_audio = (lengths > chunk.core_start).to(refined.dtype)[:, None, None]
            refined_union = torch.maximum(refined_union, refined * has_audio)
            chunk_refined.append(refined)
            chunk_bounds.append(torch.tensor([chunk.core_start, chunk.core_end]))
        clip_probabilities = file_pooling.result() if has_classifier else None
        outputs = self._model_outputs(
            model_inputs, extracted, refined_union, clip_probabilities, frame_outputs, return_probabilities
        )
        batch = query.shape[0]
        outputs["chunk_refined_query"] = torch.stack(chunk_refined, dim=1)
        outputs["chunk_bounds"] = torch.stack(chunk_bounds)[None].expand(batch, -1, -1)
        outputs["chunk_probabilities"] = torch.stack(chunk_probabilities, dim=1) if has_classifier else None
        return outputs

    def _encode(self, waveform, chunk):
        """Eqs. (1)-(2) on one chunk: mixture features X and shared features Z."""
        mixture_features = self.model.encode(waveform[:, chunk.start : chunk.end])
        return mixture_features, self.model.extract_shared_features(mixture_features)

    def _classify(self, shared_features, chunk, lengths):
        """Eq. (6) frame probabilities of one chunk `(batch, frames, classes)` and the 0/1 weights
        of the frames this chunk owns and that hold real audio (a frame counts when its first
        sample does, as in `QrtseModel.frame_mask`)."""
        config = self.model.config
        hop, edge = config.hop_samples, config.window_samples - config.hop_samples
        num_frames = shared_features.shape[-1]
        frame_starts = chunk.start + torch.arange(num_frames, device=lengths.device) * hop - edge
        valid = frame_starts[None] < lengths[:, None]
        frames = torch.zeros(
            shared_features.shape[0],
            num_frames,
            config.num_labels,
            dtype=shared_features.dtype,
            device=shared_features.device,
        )
        # Items with no audio in this chunk (batch padding) are skipped: the GRU needs a frame.
        rows = valid.any(dim=1)
        if bool(rows.any()):
            frames[rows] = self.model.classify(shared_features[rows], valid[rows])[1]
        owned = torch.zeros_like(valid)
        owned[:, slice(*owned_frames(chunk, num_frames, hop))] = True
        return frames, valid & owned

    def _refine(self, query, probabilities, model_inputs, threshold, refine):
        """Eq. (7): keep query class i where p_i >= theta; items with oracle classes use them."""
        if not refine:
            return query
        oracle_refined = query * model_inputs["oracle_presence"].to(query.dtype)[:, None]
        # Without a classifier, only items with oracle classes can be refined.
        estimated = query if probabilities is None else query * (probabilities >= threshold).to(query.dtype)[:, None]
        return torch.where(model_inputs["has_oracle"][:, None, None], oracle_refined, estimated)

    def _add_extraction(self, extracted, features, refined, chunk, crossfade):
        """Eqs. (3)-(5) on one chunk, weighted by its crossfade window and added to the output."""
        mixture_features, shared_features = features
        # Classification was done separately (per file or per chunk), hence no probabilities here;
        # padding is masked once over the whole output.
        analysis = QrtseAnalysis(mixture_features, shared_features, None, None, chunk.end - chunk.start)
        output = self.model.extract(analysis, refined)
        weights = crossfade_weights(chunk, crossfade).to(output.device)
        extracted[..., chunk.start : chunk.end] += output.float() * weights

    def _model_outputs(self, model_inputs, extracted, refined, clip_probabilities, frame_outputs, return_probabilities):
        # Zero the padding (batches, inputs shorter than a window); the first key must be batched.
        extracted = extracted * model_inputs["attention_mask"][:, None].to(extracted.dtype)
        return {
            "extracted_values": extracted,
            "refined_query": refined,
            "clip_probabilities": clip_probabilities,
            "frame_probabilities": torch.cat(frame_outputs, dim=1) if return_probabilities and frame_outputs else None,
            "lengths": model_inputs["attention_mask"].sum(-1),
            "query": model_inputs["query"],
            "several_queries": model_inputs["several_queries"],
            "input_sampling_rate": model_inputs["input_sampling_rate"],
            "chunk_refined_query": None,
            "chunk_bounds": None,
            "chunk_probabilities": None,
        }

    # --- postprocess: plain Python / numpy ---

    def postprocess(self, model_outputs, return_probabilities=False, output_sampling_rate=None):
        config = self.model.config
        id2label = config.id2label
        length = int(model_outputs["lengths"][0])
        model_rate = config.sampling_rate
        if output_sampling_rate == "input":
            output_sampling_rate = int(model_outputs["input_sampling_rate"][0])
        out_rate = output_sampling_rate or model_rate

        clip = model_outputs["clip_probabilities"]
        class_probabilities = None
        if clip is not None:
            values = clip[0].float().tolist()
            order = sorted(range(len(values)), key=lambda index: -values[index])
            class_probabilities = {id2label[index]: values[index] for index in order}
        extra = {}
        if return_probabilities and model_outputs["frame_probabilities"] is not None:
            edge, hop = config.window_samples - config.hop_samples, config.hop_samples
            num_frames = -(-(length + edge) // hop)  # frames whose first sample is real audio
            extra["frame_probabilities"] = model_outputs["frame_probabilities"][0, :num_frames].float().numpy()
            extra["frame_rate"] = config.frame_rate

        results = []
        queries = model_outputs["query"][0]
        for k in range(queries.shape[0]):
            if not queries[k].any():
                continue  # a query set that only pads a batch of differently sized query lists
            audio = model_outputs["extracted_values"][0, k, :length].float().numpy()
            result = {
                "audio": self._resample(audio, model_rate, out_rate),
                "sampling_rate": int(out_rate),
                "query": multi_hot_to_labels(queries[k], id2label),
                "refined_query": multi_hot_to_labels(model_outputs["refined_query"][0, k], id2label),
                "class_probabilities": class_probabilities,
            }
            if model_outputs["chunk_bounds"] is not None:
                result["chunks"] = self._chunk_summaries(model_outputs, k, length, return_probabilities)
            results.append({**result, **extra})
        return results if bool(model_outputs["several_queries"][0]) else results[0]

    def _chunk_summaries(self, model_outputs, k, length, return_probabilities):
        config = self.model.config
        summaries = []
        for index, (start, end) in enumerate(model_outputs["chunk_bounds"][0].tolist()):
            if start >= length:
                break
            summary = {
                "start": start / config.sampling_rate,
                "end": min(end, length) / config.sampling_rate,
                "refined_query": multi_hot_to_labels(
                    model_outputs["chunk_refined_query"][0, index, k], config.id2label
                ),
            }
            if return_probabilities and model_outputs["chunk_probabilities"] is not None:
                values = model_outputs["chunk_probabilities"][0, index].float().tolist()
                summary["class_probabilities"] = {config.id2label[i]: p for i, p in enumerate(values)}
            summaries.append(summary)
        return summaries

    @staticmethod
    def _resample(audio: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
        if rate == target_rate:
            return audio.astype(np.float32)
        try:
            import soxr
        except ImportError as error:  # pragma: no cover - soxr is a dependency of the package
            raise ImportError("output_sampling_rate needs soxr: pip install soxr") from error
        return soxr.resample(audio, rate, target_rate, quality="HQ").astype(np.float32)
