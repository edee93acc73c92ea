"""Conv-TasNet target sound extraction with context-aware query refinement
(Sato et al., "Context-Aware Query Refinement for Target Sound Extraction", Section 3)."""

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from .classifier_qrtse import QrtseClassifier
from .configuration_qrtse import QrtseConfig
from .encoder_decoder_qrtse import QrtseDecoder, QrtseEncoder
from .frame_refinement_qrtse import empty_frame_gate
from .losses_qrtse import classification_loss, extraction_loss
from .online_refinement_qrtse import fading_gate, online_activity, trailing_presence
from .refinement_qrtse import (
    Threshold,
    check_query,
    check_threshold,
    check_waveform,
    refine_items,
    refines,
    resolve_threshold,
)
from .stream_state_qrtse import QrtseStreamState
from .streaming_qrtse import QrtseStreamer
from .tcn_qrtse import QrtseTemporalConvNet
from .weights_qrtse import from_pretrained_safetensors

KERNELS_NEED_THE_PACKAGE = "the CPU fast paths come with the qrtse package: pip install qrtse"
NO_CLASSIFIER = (
    "This model has no classifier (use_classifier=False): refine with oracle classes "
    "(oracle_presence / oracle_classes) or switch refinement off (threshold=0, refine=False)"
)


@dataclass
class QrtseOutput(ModelOutput):
    """
    Output of [`QrtseModel`] and of `extract_long_form` (which always has the K axis and fills the
    long-form fields). K is the number of queries per mixture when `query` is 3-D.

    Args:
        loss (`torch.Tensor` of shape `()`, *optional*):
            L = L_tse + lambda * L_cls (eq. 8), when targets are given.
        extracted_values (`torch.Tensor` of shape `(batch_size, input_length)` or `(batch_size, K, input_length)`):
            The extracted target sound s_hat (eq. 5).
        clip_probabilities (`torch.Tensor` of shape `(batch_size, num_labels)`, *optional*):
            Presence probability of each class in the mixture, p_hat (eq. 6). None without classifier.
        frame_probabilities (`torch.Tensor` of shape `(batch_size, frames, num_labels)`, *optional*):
            Frame-level presence probabilities before pooling.
        refined_query (`torch.Tensor` of shape `(batch_size, num_labels)` or `(batch_size, K, num_labels)`):
            The query actually used to estimate the mask (eq. 7). A causal model refining online
            (`QrtseModel.refine_online`) gives one per frame: `(batch_size, [K,] frames, num_labels)`.
        extraction_loss (`torch.Tensor` of shape `()`, *optional*):
            L_tse, when `target_values` is given.
        classification_loss (`torch.Tensor` of shape `()`, *optional*):
            L_cls, when `presence_labels` is given and the model has a classifier.
        chunk_refined_query (`(batch, chunks, K, classes)`), chunk_bounds (`(batch, chunks, 2)`,
            core start and end in samples) and chunk_probabilities (`(batch, chunks, classes)`):
            long form with `refinement="chunk"` on input longer than one chunk. An item with
            fewer chunks than the batch's most has empty bounds at its end for the rest.
        frame_activity (`torch.BoolTensor` of shape `(batch, frames, classes)`, *optional*): long
            form with `refinement="frame"`: which classes refinement kept in which frame (queried
            or not); the frame query of query k is `query[:, k, None] * frame_activity`.
    """

    loss: torch.Tensor | None = None
    extracted_values: torch.Tensor | None = None
    clip_probabilities: torch.Tensor | None = None
    frame_probabilities: torch.Tensor | None = None
    refined_query: torch.Tensor | None = None
    extraction_loss: torch.Tensor | None = None
    classification_loss: torch.Tensor | None = None
    chunk_refined_query: torch.Tensor | None = None
    chunk_bounds: torch.Tensor | None = None
    chunk_probabilities: torch.Tensor | None = None
    frame_activity: torch.Tensor | None = None


@dataclass
class QrtseAnalysis:
    """What [`QrtseModel.analyze`] computes once per mixture, before any query is applied.
    `valid_frames` `(batch, frames)` bool: the frames that hold real audio; `frame_mask`: the same
    when some frame is padding, else None (the modules then run their unpadded computation).
    `stream`: the stream state the steps read and advance, for a chunk of a stream."""

    mixture_features: torch.Tensor
    shared_features: torch.Tensor
    clip_probabilities: torch.Tensor | None
    frame_probabilities: torch.Tensor | None
    num_samples: int
    attention_mask: torch.Tensor | None = None
    frame_mask: torch.Tensor | None = None
    valid_frames: torch.Tensor | None = None
    stream: QrtseStreamState | None = None


class QrtsePreTrainedModel(PreTrainedModel):
    config_class = QrtseConfig
    base_model_prefix = "qrtse"
    main_input_name = "input_values"

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """`PreTrainedModel.from_pretrained` from safetensors weights only: a folder or Hub repository
        with only a pickled `pytorch_model.bin` raises `ValueError` saying how to convert it
        (`weights_qrtse`)."""
        return from_pretrained_safetensors(super().from_pretrained, pretrained_model_name_or_path, *args, **kwargs)

    @torch.no_grad()
    def _init_weights(self, module):
        # PyTorch's own initialisation for every layer, as in Conv-TasNet implementations.
        if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear, nn.GRU, nn.LayerNorm, nn.GroupNorm)):
            module.reset_parameters()
        elif isinstance(module, nn.PReLU):
            module.weight.fill_(0.25)


class QrtseModel(QrtsePreTrainedModel):
    """Encoder (eq. 1) -> shared TCN features Z (eq. 2) -> classifier (eq. 6) -> query refinement
    (eq. 7) -> query embedding times Z -> mask estimator (eqs. 3-4) -> masked decoding (eq. 5).

    Z is computed once per mixture and serves the classifier and every query: a `(batch, K,
    classes)` query runs the trunk once and the mask estimator on the K conditioned copies.
    """

    def __init__(self, config: QrtseConfig):
        super().__init__(config)
        self.encoder = QrtseEncoder(config)
        self.shared_extractor = QrtseTemporalConvNet(
            config, config.encoder_filters, config.feature_channels, config.shared_blocks, config.shared_repeats
        )
        self.classifier = QrtseClassifier(config) if config.use_classifier else None
        # No bias: a query naming no class embeds to zero (the fully unmatched case).
        self.query_embedding = nn.Linear(config.num_labels, config.feature_channels, bias=False)
        self.mask_estimator = QrtseTemporalConvNet(
            config, config.feature_channels, config.encoder_filters, config.mask_blocks, config.mask_repeats
        )
        self.mask_activation = nn.Sigmoid() if config.mask_activation == "sigmoid" else nn.ReLU()
        self.decoder = QrtseDecoder(config)
        self.post_init()

    def optimize_for_inference(self, **kwargs) -> "QrtseModel":
        """A copy of this model that runs faster under `torch.no_grad()` / `torch.inference_mode()`
        with the same outputs (float rounding): time-major fused TCNs, GEMM encoder/decoder, the BiGRU
        in ONNX Runtime when installed. This model is left untouched. `dtype=torch.bfloat16`: bf16
        GEMMs, float32 elsewhere, on CPUs with native bf16. See `modeling_qrtse.kernels.fast_inference`.
        Needs the qrtse package (the kernels are not shipped with the model's remote code)."""
        # The CPU kernels are imported when asked for: the model's own import stays light. An
        # absolute import inside `try`, so that transformers neither copies the kernels with the
        # remote code nor requires the package to load it.
        try:
            from modeling_qrtse.kernels.fast_inference import optimize_for_inference
        except ImportError as error:
            raise ImportError(KERNELS_NEED_THE_PACKAGE) from error

        return optimize_for_inference(self, **kwargs)

    def optimize_for_training(self, **kwargs) -> "QrtseModel":
        """Switch this model, in place, to modules that train faster on CPU (forward and backward)
        with the same parameters, `state_dict` and gradients (float rounding); returns `self`.
        Off CPU float32 they run the reference computation. `dtype=torch.bfloat16`: mixed precision
        (bf16 GEMMs, float32 weights and all else) on CPUs with native bf16. See
        `modeling_qrtse.kernels.fast_training`. Needs the qrtse package, as `optimize_for_inference`."""
        try:
            from modeling_qrtse.kernels.fast_training import optimize_for_training
        except ImportError as error:
            raise ImportError(KERNELS_NEED_THE_PACKAGE) from error

        return optimize_for_training(self, **kwargs)

    # The forward pass as the paper's equations, each an overridable step.
    def encode(
        self,
        input_values: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        stream: QrtseStreamState | None = None,
    ) -> torch.Tensor:
        """Eq. (1): `(batch, time)` -> X `(batch, D, frames)`. Samples where `attention_mask` is 0 are
        read as zeros, as past the end of an unpadded input; X is then zero on padding frames (the
        encoder has no bias). `stream`: `input_values` continue a stream; X holds the frames they
        complete (`QrtseStreamState.take_frames`)."""
        if stream is not None:
            return self.encoder.frames_of(stream.take_frames(input_values))
        if attention_mask is not None:
            input_values = input_values * attention_mask.to(input_values.dtype)
        return self.encoder(input_values)

    def extract_shared_features(
        self, mixture_features: torch.Tensor, frame_mask: torch.Tensor | None = None, past: list | None = None
    ) -> torch.Tensor:
        """Eq. (2): X -> Z `(batch, N, frames)`; `frame_mask` `(batch, frames)`: the valid frames
        of a padded batch (None: all), which get exactly what they get unpadded; `past`: a causal
        TCN's block contexts in a stream (`QrtseTemporalConvNet`)."""
        return self.shared_extractor(mixture_features, frame_mask, past)

    def classify(
        self, shared_features: torch.Tensor, frame_mask: torch.Tensor, past: list | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. (6): Z -> clip probabilities `(batch, C)`, frame probabilities `(batch, frames, C)`.
        `past`: a causal classifier's state in a stream (`QrtseClassifier`)."""
        return self.classifier(shared_features, frame_mask, past)

    def estimate_mask(
        self,
        shared_features: torch.Tensor,
        query: torch.Tensor,
        frame_mask: torch.Tensor | None = None,
        past: list | None = None,
    ) -> torch.Tensor:
        """Eqs. (3)-(4): Z `(batch, N, frames)` and query `(batch, K, C)` -> M `(batch * K, D, frames)`;
        `frame_mask` as for [`extract_shared_features`]; `past`: a causal mask estimator's block
        contexts in a stream (`QrtseTemporalConvNet`).

        A frame query `(batch, K, frames, C)` conditions each frame on its own classes (frame-level
        refinement, `frame_refinement_qrtse`): the embedding is linear and multiplies Z per frame."""
        batch, num_queries = query.shape[:2]
        embedding = self.query_embedding(query.to(shared_features.dtype))
        embedding = embedding.transpose(-1, -2) if query.dim() == 4 else embedding.unsqueeze(-1)
        conditioned = shared_features.unsqueeze(1) * embedding
        conditioned = conditioned.reshape(batch * num_queries, *shared_features.shape[1:])
        if frame_mask is not None:
            frame_mask = frame_mask.repeat_interleave(num_queries, dim=0)
        return self.mask_activation(self.mask_estimator(conditioned, frame_mask, past))

    def decode(
        self,
        mixture_features: torch.Tensor,
        mask: torch.Tensor,
        num_samples: int,
        stream: QrtseStreamState | None = None,
    ) -> torch.Tensor:
        """Eq. (5): X and M `(batch * K, D, frames)` -> s_hat `(batch * K, time)`. `stream`: the
        frames continue a stream; s_hat holds the samples no later frame overlaps
        (`QrtseStreamState.emit`) and `num_samples` is not used."""
        num_queries = mask.shape[0] // mixture_features.shape[0]
        masked = mixture_features.repeat_interleave(num_queries, dim=0) * mask
        if stream is not None:
            return stream.emit(self.decoder.overlap_add(masked), self.config.hop_samples * mask.shape[-1])
        return self.decoder(masked, num_samples)

    def valid_frames(self, lengths: torch.Tensor, num_frames: int) -> torch.Tensor:
        """`(batch, frames)` bool: frame f holds real audio, i.e. its first sample
        (`f * hop - frame_offset_samples`) lies before the item's length `lengths` `(batch,)`."""
        positions = torch.arange(num_frames, device=lengths.device) * self.config.hop_samples
        return (positions - self.config.frame_offset_samples)[None] < lengths[:, None]

    def forward(
        self,
        input_values: torch.Tensor,
        query: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        threshold: float | None = None,
        oracle_presence: torch.Tensor | None = None,
        target_values: torch.Tensor | None = None,
        presence_labels: torch.Tensor | None = None,
        return_dict: bool | None = None,
    ):
        r"""
        [`analyze`], [`refine`] and [`extract`], plus the losses when targets are given.

        Args:
            input_values (`torch.Tensor` of shape `(batch_size, input_length)`):
                Mixture waveforms at `config.sampling_rate`.
            query (`torch.Tensor` of shape `(batch_size, num_labels)` or `(batch_size, K, num_labels)`):
                Multi-hot target classes q. A 3-D query extracts K targets from each mixture.
            attention_mask (`torch.Tensor` of shape `(batch_size, input_length)`, *optional*):
                1 for real samples, 0 for padding (after each item's end). Each item gets the output
                and probabilities it gets alone (to float rounding): padding is read as silence past
                its end and excluded from every step (TCNs, BiGRU, pooling); the output is zero there.
            threshold (`float` or `torch.Tensor` of shape `(num_labels,)`, *optional*):
                theta of eq. (7), in [0, 1], one for every class or one per class; 0 disables
                refinement. Defaults to `config.class_thresholds` where set, else
                `config.refinement_threshold`. Training uses 0 (FMQ only, Section 3.3).
            oracle_presence (`torch.Tensor` of shape `(batch_size, num_labels)`, *optional*):
                True 0/1 presence; refines with it instead of the classifier (the paper's upper bound).
            target_values (`torch.Tensor`, same shape as `extracted_values`, *optional*):
                Target waveforms; an all-zero target is an inactive sample.
            presence_labels (`torch.Tensor` of shape `(batch_size, num_labels)`, *optional*):
                Clip-level presence labels for L_cls.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        check_waveform(input_values, self.config.window_samples)
        check_query(query, input_values.shape[0], self.config.num_labels)
        if oracle_presence is not None:
            check_query(oracle_presence, input_values.shape[0], self.config.num_labels)
        threshold = resolve_threshold(self.config, threshold)
        check_threshold(threshold, self.config.num_labels)
        single_query = query.dim() == 2
        query = query.unsqueeze(1) if single_query else query

        analysis = self.analyze(input_values, attention_mask)
        if self.config.causal and oracle_presence is None and refines(threshold):
            refined_query = self.refine_online(query, analysis, threshold)
        else:
            refined_query = self.refine(query, analysis.clip_probabilities, threshold, oracle_presence)
        extracted = self.extract(analysis, refined_query)

        if single_query:
            extracted, refined_query = extracted.squeeze(1), refined_query.squeeze(1)
        tse_loss = cls_loss = loss = None
        if target_values is not None:
            if target_values.shape != extracted.shape:
                raise ValueError(
                    f"target_values must have shape {tuple(extracted.shape)}, got {tuple(target_values.shape)}"
                )
            mixture = input_values if single_query else input_values.unsqueeze(1)
            tse_loss = extraction_loss(extracted, target_values, mixture, self.config.snr_max)
            loss = tse_loss
        if presence_labels is not None and analysis.clip_probabilities is not None:
            cls_loss = classification_loss(
                analysis.clip_probabilities,
                presence_labels,
                self.config.classification_positive_weight,
                self.config.classification_focal_gamma,
            )
            loss = (
                cls_loss * self.config.classification_loss_weight
                if loss is None
                else loss + self.config.classification_loss_weight * cls_loss
            )

        output = QrtseOutput(
            loss=loss,
            extracted_values=extracted,
            clip_probabilities=analysis.clip_probabilities,
            frame_probabilities=analysis.frame_probabilities,
            refined_query=refined_query,
            extraction_loss=tse_loss,
            classification_loss=cls_loss,
        )
        return output if return_dict else output.to_tuple()

    def analyze(
        self,
        input_values: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        classify: bool = True,
        stream: QrtseStreamState | None = None,
    ) -> QrtseAnalysis:
        """The query-independent trunk, run once per mixture: eqs. (1), (2) and, with `classify`
        and a classifier, (6). `input_values` must already have passed `check_waveform`. An item
        with no real sample (`attention_mask` all 0, e.g. a batch's chunk past its end) gets zero
        probabilities.

        `stream` (causal models): `input_values` is the next chunk of a stream in that state,
        which must complete at least one frame (`QrtseStreamState.frames_ready`); the frames it
        completes are analysed and the state advanced (`streaming_qrtse`)."""
        mixture_features = self.encode(input_values, attention_mask, stream)
        if attention_mask is None:
            # Taken from the features, not built from their size, so that ONNX tracing keeps it dynamic.
            valid = torch.ones_like(mixture_features[:, 0], dtype=torch.bool)
        else:
            valid = self.valid_frames(attention_mask.sum(-1), mixture_features.shape[-1])
        padding = None if bool(valid.all()) else valid
        shared_past, classifier_past = (None, None) if stream is None else (stream.shared, stream.classifier)
        shared_features = self.extract_shared_features(mixture_features, padding, shared_past)
        clip_probabilities = frame_probabilities = None
        if classify and self.classifier is not None:
            clip_probabilities, frame_probabilities = self.classify_items(shared_features, valid, classifier_past)
        num_samples = input_values.shape[-1] if stream is None else mixture_features.shape[-1] * self.config.hop_samples
        return QrtseAnalysis(
            mixture_features,
            shared_features,
            clip_probabilities,
            frame_probabilities,
            num_samples,
            attention_mask,
            padding,
            valid,
            stream,
        )

    def classify_items(
        self, shared_features: torch.Tensor, valid: torch.Tensor, past: list | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """[`classify`] of the items with at least one valid frame (the GRU needs one); the others
        get zero probabilities. `past`: a stream's classifier state (every item is valid there)."""
        rows = valid.any(dim=1)
        if bool(rows.all()):
            return self.classify(shared_features, valid, past)
        batch, num_frames = valid.shape
        clip = shared_features.new_zeros(batch, self.config.num_labels)
        frames = shared_features.new_zeros(batch, num_frames, self.config.num_labels)
        if bool(rows.any()):
            clip[rows], frames[rows] = self.classify(shared_features[rows], valid[rows])
        return clip, frames

    def refine(
        self,
        query: torch.Tensor,
        probabilities: torch.Tensor | None,
        threshold: Threshold | None = None,
        oracle_presence: torch.Tensor | None = None,
        has_oracle: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Eq. (7), the one refinement policy: keep query class i where p_i >= theta_i.

        `query` `(batch, [K,] classes)`; `probabilities` `(batch, classes)` (the analysis' clip
        probabilities, or any pooled ones; None for a model without classifier); `threshold` one
        theta or a `(classes,)` tensor (default: the config's); theta = 0 keeps the query as given,
        the one way to switch refinement off. Items with `oracle_presence` `(batch, classes)`
        refine with it instead (all items, or those where `has_oracle` `(batch,)` is True).
        Refining without probabilities an item that has no oracle raises `ValueError`."""
        threshold = resolve_threshold(self.config, threshold)
        if oracle_presence is not None and has_oracle is None:
            has_oracle = torch.ones(query.shape[0], dtype=torch.bool, device=query.device)
        oracle_everywhere = oracle_presence is not None and bool(has_oracle.all())
        if probabilities is None and refines(threshold) and not oracle_everywhere:
            raise ValueError(NO_CLASSIFIER)
        return refine_items(
            query, probabilities if refines(threshold) else None, threshold, oracle_presence, has_oracle
        )

    def refine_online(
        self, query: torch.Tensor, analysis: QrtseAnalysis, threshold: Threshold | None = None
    ) -> torch.Tensor:
        """Eq. (7) online, a causal model's refinement (`online_refinement_qrtse`): the frame query
        `(batch, K, frames, C)` that keeps, in each frame of `analysis`, the queried classes whose
        trailing presence reached theta within the last `config.release_s`. `query` `(batch, K,
        C)`, or a query that changes over time `(batch, K, frames, C)`; `threshold` as for
        [`refine`] (0: the query as given, in every frame). For a stream's chunk the presence and
        decisions carry over in `analysis.stream`, whose `presence` becomes the last frame's."""
        threshold = resolve_threshold(self.config, threshold)
        num_frames = analysis.shared_features.shape[-1]
        frames = query if query.dim() == 4 else query.unsqueeze(2).expand(-1, -1, num_frames, -1)
        probabilities, stream = analysis.frame_probabilities, analysis.stream
        if probabilities is None:
            if refines(threshold):
                raise ValueError(NO_CLASSIFIER)
            return frames
        presence, presence_past = trailing_presence(
            probabilities,
            self.config.presence_window_frames,
            self.config.classifier_pooling,
            None if stream is None else stream.presence_past,
            0 if stream is None else stream.frames - num_frames,
        )
        active, decision_past = online_activity(
            presence, threshold, self.config.release_frames, None if stream is None else stream.decision_past
        )
        if stream is not None:
            stream.presence_past, stream.decision_past, stream.presence = presence_past, decision_past, presence[:, -1]
        if not refines(threshold):
            return frames
        return frames * active[:, None].to(frames.dtype)

    def extract(self, analysis: QrtseAnalysis, query: torch.Tensor) -> torch.Tensor:
        """Eqs. (3)-(5) for an already refined query `(batch, K, C)`, or a frame query `(batch, K,
        frames, C)` with the frames of Z, -> `(batch, K, time)`. With `config.silence_empty_query`
        a query (or frame) naming no class gives silence (in a causal model's frames, faded out
        after the last kept frame: `online_refinement_qrtse.fading_gate`). An analysis of a
        stream's chunk gives the samples its frames complete and advances the stream."""
        stream = analysis.stream
        mask = self.estimate_mask(
            analysis.shared_features, query, analysis.frame_mask, None if stream is None else stream.mask
        )
        if query.dim() == 4 and self.config.silence_empty_query:  # frames that name no class
            mask = mask * self._frame_gate(query, analysis).to(mask.dtype)
        extracted = self.decode(analysis.mixture_features, mask, analysis.num_samples, stream)
        extracted = extracted.view(*query.shape[:2], extracted.shape[-1])
        if self.config.silence_empty_query and query.dim() == 3:
            extracted = extracted * (query.sum(-1, keepdim=True) > 0).to(extracted.dtype)
        if analysis.attention_mask is not None:
            extracted = extracted * analysis.attention_mask.unsqueeze(1).to(extracted.dtype)
        return extracted

    def _frame_gate(self, query: torch.Tensor, analysis: QrtseAnalysis) -> torch.Tensor:
        """`(batch * K, 1, frames)` mask gain of a frame query's frames (`silence_empty_query`)."""
        if not self.config.causal:
            return empty_frame_gate(query, self.config.frame_rate, analysis.frame_mask)
        kept = (query.sum(-1) > 0).to(query.dtype).flatten(0, 1)
        stream = analysis.stream
        gain, gate_past = fading_gate(kept, self.config.frame_rate, None if stream is None else stream.gate_past)
        if stream is not None:
            stream.gate_past = gate_past
        return gain[:, None]

    def streamer(self, query, threshold: Threshold | None = None, batch_size: int = 1) -> QrtseStreamer:
        """A [`QrtseStreamer`] that extracts `query` from a stream chunk by chunk (causal models)."""
        return QrtseStreamer(self, query, threshold=threshold, batch_size=batch_size)
