"""`pipeline("target-sound-extraction")`: extract the sounds a query names from a mixture, with
context-aware query refinement (paper Section 3.2, eq. 7).

Shipped as remote code next to the model: flat sibling imports and torch/numpy/transformers only.
"""

import copy

import numpy as np
import torch
from transformers import Pipeline

from .audio_inputs_qrtse import is_hf_column, is_hf_dataset, load_audio, undecoded_audio
from .frame_smoothing_qrtse import FrameSmoothing
from .long_form_qrtse import DEFAULT_CHUNK_LENGTH_S, check_long_form_options, default_refinement, extract_long_form
from .pipeline_outputs_qrtse import check_output_sampling_rate, format_outputs
from .processing_qrtse import QrtseProcessor
from .refinement_qrtse import check_threshold

TASK = "target-sound-extraction"


def check_flag(value, name: str) -> bool:
    """`value` as a bool; `ValueError` for anything but a bool (or 0 / 1): `bool("no")` is True."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer)) and value in (0, 1)):
        return bool(value)
    raise ValueError(f"{name} must be True or False, got {value!r}")


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
    generator, `datasets.Dataset` or column (`dataset["audio"]`) of these (a list or a Column
    returns a list; a generator, Dataset or IterableColumn returns an iterator that streams
    results). Without torchcodec, a dataset's decoded `Audio()` columns are read undecoded and
    decoded with soundfile. Any sample rate is resampled with soxr; channels are averaged (for a
    2-D array the shorter axis is taken as channels); 8/16/32-bit integer PCM is scaled to
    [-1, 1); other float types (float16, bfloat16, float64) become float32.

    Bad input raises `ValueError` naming it, before any model work: empty or NaN/Inf audio; a
    complex, bool or other non-audio dtype; a rate that is not a whole number of Hz; an encoded
    file that cannot be decoded, is truncated, or whose header declares more than
    `audio_inputs_qrtse.MAX_AUDIO_SECONDS` (4 h), `MAX_CHANNELS` or `MAX_DECODED_BYTES` (checked
    before decoding); a URL that does not answer within `URL_TIMEOUT_S` or is over
    `MAX_DOWNLOAD_BYTES`. A missing file raises `FileNotFoundError`, a folder `IsADirectoryError`.

    **Call parameters** (also accepted by `pipeline(...)` as defaults):
        query: the classes to extract together, as label names (case and `_`/space insensitive;
            unknown names raise `ValueError` with suggestions, e.g. "dog" -> "Bark"), class
            indices (ints or digit strings such as "18"; out of range raises `ValueError`), or a
            multi-hot numpy array / tensor. A list of such query sets (or a 2-D
            array) extracts one target per set in one pass; the result for each input is then a
            list with one dict per set. An empty query raises `ValueError`.
        threshold (`float`, defaults to the model's): theta of eq. (7); a query class is kept only
            if its estimated presence probability is >= theta. 0 keeps all. The model's default is
            `config.class_thresholds` (one theta per class) where set, else
            `config.refinement_threshold`; a `threshold` given here is one theta for every class.
        refine (`bool`, defaults to True): False uses the query as given (the paper's
            theta = 0.00 rows). A model without classifier can only refine with `oracle_classes`;
            by default it uses the query as given, and refine=True without them raises ValueError.
        oracle_classes: classes known to be present (names, indices or multi-hot); refines with
            these instead of the classifier (the paper's oracle upper bound). Ignored when
            refine=False.
        refinement (`"file"`, `"chunk"`, `"frame"` or `"online"`, defaults to `"file"`, and to
            `"online"` for a causal model, which refines each frame from the past as it streams
            and reports where it kept each class as `"segments"`): refine once per
            file (clip probabilities pooled over every chunk's frames with the classifier's own
            pooling; on audio longer than one chunk two passes, classify then extract, so that
            activations stay bounded by one chunk), per chunk (one pass, with `chunk_length_s` as
            its granularity) or per frame (the temporal refinement of the paper's Section 5: each
            queried class is kept only in the frames where the classifier hears it, smoothed as
            `frame_smoothing` says; two passes). See `long_form_qrtse`. With `"file"`, input that
            fits one chunk takes one pass and equals `QrtseModel.forward` exactly.
        frame_smoothing (`dict`, defaults to `config.frame_smoothing`): with `refinement="frame"`,
            the frame `threshold` (None: theta), `gate_s` (the presence decision's window; None:
            the whole file) and `median_s`, `min_gap_s`, `min_event_s`, `pad_s` in seconds (`frame_smoothing_qrtse.FrameSmoothing`); keys not given keep the model's
            values; bad values raise `ValueError`.
        chunk_length_s (`float`, defaults to 30): length of the core of each chunk. Each chunk is
            processed with `context_s` of extra audio on each side, which is discarded
            (overlap-save), and neighbours are joined by a 50 ms crossfade. 0 processes the whole
            input in one pass (memory grows with its length). Otherwise at least the context per
            side and 0.1 s (`long_form_qrtse.MIN_CHUNK_LENGTH_S`), so that overhead stays bounded.
        context_s (`float`, defaults to the model's exact context): extra audio per side of each
            chunk. The default (half the receptive field, one encoder window and half the
            crossfade; 0.5 s for the small preset, 2.6 s for the paper's) makes chunked extraction
            equal one-pass extraction up to float rounding (for cLN models; gLN models normalise
            over the whole input, so chunks are an approximation there). Less context is faster
            and approximate; the crossfade then hides the small jumps at chunk borders.
        return_probabilities (`bool`, defaults to False): also return frame-level probabilities
            (held whole: 400 frames x classes floats per second of audio at the default hop).
        return_residual (`bool`, defaults to False): also return `"residual"`, the mixture minus the
            extracted target ("everything else"), at the same rate as `"audio"`.
        output_sampling_rate (`None`, `"input"` or `int`, defaults to None): rate of the returned
            audio. None returns the model rate, which carries all the bandwidth the model
            produced; `"input"` resamples back to each input's own rate; an int to that rate
            (a whole number of Hz; not a bool).

    **Construction parameters**: `processor`, a [`QrtseProcessor`] with the model's classes
    (`AutoProcessor.from_pretrained(model)`; other classes raise `ValueError`): queries are parsed
    and outputs named through it alone, and its feature extractor is the pipeline's. Without one,
    it is the feature extractor given (else one at the model rate) plus the model's classes;
    `pipe.save_pretrained` saves it (`processor_config.json`). `optimize_for_inference=True` runs
    a fused copy of the model (`QrtseModel.optimize_for_inference`): same outputs to float
    rounding, faster on CPU.
    `dtype=torch.bfloat16` (or `"bfloat16"`) on CPU implies it and runs its GEMMs in bf16 with
    float32 weights and everything else float32 (~1.4x faster; outputs within bf16 rounding of
    float32's, refinement decisions unchanged but for probabilities within ~1e-3 of theta). Where
    the CPU has no native bf16 it runs float32 and warns once. transformers loads a model given by
    name in `dtype`: its weights are then widened back to float32 after bf16 rounding; pass a model
    loaded in float32 to keep them exact. Off CPU, `dtype` is transformers' alone (unchanged).

    **Output** (per input and query set): a dict with
        - `"audio"`: float32 array `(samples,)`, the extracted target at `"sampling_rate"`;
        - `"sampling_rate"`: int (the model rate unless `output_sampling_rate` says otherwise);
        - `"query"`: the query's labels; `"refined_query"`: the labels actually extracted after
          eq. (7) (with `refinement="chunk"`: the labels kept in at least one chunk);
        - `"class_probabilities"`: `{label: p}` for every class, highest first, pooled over the
          whole file (None for a model without classifier);
        - with `refinement="chunk"`: `"chunks"`, a list of `{"start", "end", "refined_query"}` in
          seconds (plus `"class_probabilities"` when `return_probabilities`);
        - with `refinement="frame"` or `"online"`: `"segments"`, `{label: [(start, end), ...]}` in
          seconds, where each queried class was kept (`"refined_query"`: the classes kept somewhere);
        - with `return_probabilities`: `"frame_probabilities"` `(frames, classes)` float32 and
          `"frame_rate"` (frame f starts at `(f * hop - config.frame_offset_samples) / rate` seconds).

    Silence gives exact silence (the encoder and decoder have no bias). A query that refinement
    empties (no queried class detected, the paper's FUQ case) gives the model's output for the
    zero query, strongly attenuated by training (Table 1), or exact zeros when
    `config.silence_empty_query`. With `batch_size > 1` shorter inputs are zero-padded to the
    longest in the batch; the model masks the padding and each input keeps its own chunk plan, so
    results equal those of `batch_size=1` to float rounding (see `long_form_qrtse`).
    """

    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = True
    _load_tokenizer = False
    _load_video_processor = False

    def __init__(
        self,
        model,
        *args,
        feature_extractor=None,
        processor=None,
        optimize_for_inference: bool = False,
        dtype=None,
        **kwargs,
    ):
        # Built before the base class, which checks the call parameters given here (a default query).
        if processor is None:
            processor = QrtseProcessor.from_config(model.config, feature_extractor)
        if not hasattr(processor, "check_model_config"):
            raise ValueError(f"processor must be a QrtseProcessor, got {type(processor).__name__}")
        processor.check_model_config(model.config)
        super().__init__(model, *args, feature_extractor=processor.feature_extractor, processor=processor, **kwargs)
        # bf16 on CPU is the fused path's mixed precision (bf16 GEMMs, float32 weights; modeling_qrtse.kernels.fast_inference).
        bf16 = str(dtype).removeprefix("torch.") in ("bfloat16", "bf16") and self.model.device.type == "cpu"
        if optimize_for_inference or bf16:
            # Opt-in: a fused copy of the model (same outputs to float rounding, ~1.5x faster on
            # CPU; see modeling_qrtse.kernels.fast_inference). A model from an older Hub repo may lack the method.
            if not hasattr(self.model, "optimize_for_inference"):
                raise ValueError("this model's code has no optimize_for_inference(); load it with the qrtse package")
            widen = bf16 and self.model.dtype != torch.float32  # transformers loaded it in `dtype`
            model = copy.deepcopy(self.model).float() if widen else self.model
            self.model = model.optimize_for_inference(**({"dtype": torch.bfloat16} if bf16 else {}))

    def __call__(self, inputs, **kwargs):
        if is_hf_dataset(inputs) or is_hf_column(inputs):
            # Not torch Datasets: fed as a generator so that inputs are read one at a time. Decoded
            # Audio() columns are read undecoded where torchcodec is missing (`undecoded_audio`).
            rows = (row for row in undecoded_audio(inputs))
            if is_hf_column(inputs) and hasattr(inputs, "__len__"):
                return list(super().__call__(rows, **kwargs))  # a Column is a sequence: a list, as for a list
            inputs = rows
        return super().__call__(inputs, **kwargs)

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
        return_residual=None,
        output_sampling_rate=None,
        frame_smoothing=None,
    ):
        preprocess, forward, postprocess = {}, {}, {}
        if query is not None:
            self.processor.encode_query(query)  # fail at call time, not deep in a loop
            preprocess["query"] = query
        if oracle_classes is not None:
            preprocess["oracle_classes"] = oracle_classes
        if threshold is not None:
            check_threshold(threshold)
            forward["threshold"] = float(threshold)
        if refine is not None:
            forward["refine"] = check_flag(refine, "refine")
        check_long_form_options(
            refinement or default_refinement(self.model.config), chunk_length_s or 0.0, context_s, self.model.config
        )
        if refinement is not None:
            forward["refinement"] = refinement
        if frame_smoothing is not None:
            if isinstance(frame_smoothing, dict):  # keys not given keep the model's
                frame_smoothing = {**(getattr(self.model.config, "frame_smoothing", None) or {}), **frame_smoothing}
            forward["frame_smoothing"] = FrameSmoothing.from_dict(frame_smoothing)
        if chunk_length_s is not None:
            forward["chunk_length_s"] = float(chunk_length_s)
        if context_s is not None:
            forward["context_s"] = float(context_s)
        if return_probabilities is not None:
            return_probabilities = check_flag(return_probabilities, "return_probabilities")
            forward["return_probabilities"] = postprocess["return_probabilities"] = return_probabilities
        if return_residual is not None:
            postprocess["return_residual"] = check_flag(return_residual, "return_residual")
        if output_sampling_rate is not None:
            postprocess["output_sampling_rate"] = check_output_sampling_rate(output_sampling_rate)
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
        features = self.processor(
            audio,
            query=query,
            sampling_rate=sampling_rate,
            oracle_classes=oracle_classes,
            return_tensors="pt",
            return_attention_mask=True,
        )
        input_values, attention_mask = features["input_values"], features["attention_mask"]
        if input_values.shape[-1] < config.window_samples:
            # Shorter than one encoder window: pad, mask, and crop the output back.
            missing = config.window_samples - input_values.shape[-1]
            input_values = torch.nn.functional.pad(input_values, (0, missing))
            attention_mask = torch.nn.functional.pad(attention_mask, (0, missing))
        if query is None:
            self.processor.encode_query(query)  # "No query given", as for any bad query
        queries = features["query"]  # (1, C), or (1, K, C) for several query sets
        oracle = features.get("oracle_presence", torch.zeros(1, config.num_labels))
        return {
            "input_values": input_values.to(torch.float32),
            "attention_mask": attention_mask.to(torch.long),
            "query": queries.view(1, -1, config.num_labels),
            "several_queries": torch.tensor([queries.dim() == 3]),
            "oracle_presence": oracle,
            "has_oracle": torch.tensor([oracle_classes is not None]),
            "input_sampling_rate": torch.tensor([int(sampling_rate)]),
        }

    # --- forward: the long-form engine (long_form_qrtse), one implementation for every caller ---

    def _forward(self, model_inputs, chunk_length_s=DEFAULT_CHUNK_LENGTH_S, **options):
        output = extract_long_form(
            self.model,
            model_inputs["input_values"],
            model_inputs["query"],
            attention_mask=model_inputs["attention_mask"],
            oracle_presence=model_inputs["oracle_presence"],
            has_oracle=model_inputs["has_oracle"],
            chunk_length_s=chunk_length_s,
            **options,
        )
        # A dict whose first value is batched, as the base class's unbatching expects (the
        # output's own first field is the loss, None here).
        return {
            "extracted_values": output.extracted_values,
            **vars(output),
            "lengths": model_inputs["attention_mask"].sum(-1),
            **{key: model_inputs[key] for key in ("input_values", "query", "several_queries", "input_sampling_rate")},
        }

    # --- postprocess: plain Python / numpy (pipeline_outputs_qrtse) ---

    def postprocess(self, model_outputs, return_probabilities=False, return_residual=False, output_sampling_rate=None):
        config = self.model.config
        return format_outputs(
            model_outputs, config, self.processor, return_probabilities, return_residual, output_sampling_rate
        )

    def save_pretrained(self, save_directory, **kwargs):
        """The model, the pipeline's code and the processor (`processor_config.json`, which
        `AutoProcessor.from_pretrained` reads, with the feature extractor and the classes)."""
        super().save_pretrained(save_directory, **kwargs)
        self.processor.save_pretrained(save_directory)
