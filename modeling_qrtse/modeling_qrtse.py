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
from .fast_inference_qrtse import optimize_for_inference
from .fast_training_qrtse import optimize_for_training
from .frame_refinement_qrtse import empty_frame_gate
from .losses_qrtse import classification_loss, extraction_loss
from .refinement_qrtse import (
    ORACLE_THRESHOLD,
    check_query,
    check_threshold,
    check_waveform,
    refine_query,
    refines,
    resolve_threshold,
)
from .tcn_qrtse import QrtseTemporalConvNet
from .weights_qrtse import from_pretrained_safetensors


@dataclass
class QrtseOutput(ModelOutput):
    """
    Output of [`QrtseModel`]. K is the number of queries per mixture when `query` is 3-D.

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
            The query actually used to estimate the mask (eq. 7).
        extraction_loss (`torch.Tensor` of shape `()`, *optional*):
            L_tse, when `target_values` is given.
        classification_loss (`torch.Tensor` of shape `()`, *optional*):
            L_cls, when `presence_labels` is given and the model has a classifier.
    """

    loss: torch.Tensor | None = None
    extracted_values: torch.Tensor | None = None
    clip_probabilities: torch.Tensor | None = None
    frame_probabilities: torch.Tensor | None = None
    refined_query: torch.Tensor | None = None
    extraction_loss: torch.Tensor | None = None
    classification_loss: torch.Tensor | None = None


@dataclass
class QrtseAnalysis:
    """What [`QrtseModel.analyze`] computes once per mixture, before any query is applied.
    `frame_mask` `(batch, frames)`: the valid frames of a padded batch, None when none is padding."""

    mixture_features: torch.Tensor
    shared_features: torch.Tensor
    clip_probabilities: torch.Tensor | None
    frame_probabilities: torch.Tensor | None
    num_samples: int
    attention_mask: torch.Tensor | None = None
    frame_mask: torch.Tensor | None = None


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


def frame_validity(config, lengths: torch.Tensor, num_frames: int, first_sample: int = 0) -> torch.Tensor:
    """`(batch, frames)` bool: frame f of an input starting at sample `first_sample` holds real
    audio, i.e. its first sample (`first_sample + f * hop - frame_offset_samples`) lies before the
    item's length `lengths` `(batch,)`."""
    positions = torch.arange(num_frames, device=lengths.device) * config.hop_samples
    return (first_sample + positions - config.frame_offset_samples)[None] < lengths[:, None]


def padded_frame_mask(frame_mask: torch.Tensor | None) -> torch.Tensor | None:
    """`frame_mask` `(batch, frames)` if some frame is padding, else None: the modules then run
    their unpadded computation unchanged."""
    return None if frame_mask is None or bool(frame_mask.all()) else frame_mask


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
        GEMMs, float32 elsewhere, on CPUs with native bf16. See `fast_inference_qrtse`."""
        return optimize_for_inference(self, **kwargs)

    def optimize_for_training(self, **kwargs) -> "QrtseModel":
        """Switch this model, in place, to modules that train faster on CPU (forward and backward)
        with the same parameters, `state_dict` and gradients (float rounding); returns `self`.
        Off CPU float32 they run the reference computation. `dtype=torch.bfloat16`: mixed precision
        (bf16 GEMMs, float32 weights and all else) on CPUs with native bf16. See `fast_training_qrtse`."""
        return optimize_for_training(self, **kwargs)

    # The forward pass as the paper's equations, each an overridable step.
    def encode(self, input_values: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Eq. (1): `(batch, time)` -> X `(batch, D, frames)`. Samples where `attention_mask` is 0 are
        read as zeros, as past the end of an unpadded input; X is then zero on padding frames (the
        encoder has no bias)."""
        if attention_mask is not None:
            input_values = input_values * attention_mask.to(input_values.dtype)
        return self.encoder(input_values)

    def extract_shared_features(
        self, mixture_features: torch.Tensor, frame_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Eq. (2): X -> Z `(batch, N, frames)`; `frame_mask` `(batch, frames)`: the valid frames
        of a padded batch (None: all), which get exactly what they get unpadded."""
        return self.shared_extractor(mixture_features, frame_mask)

    def classify(self, shared_features: torch.Tensor, frame_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. (6): Z -> clip probabilities `(batch, C)`, frame probabilities `(batch, frames, C)`."""
        return self.classifier(shared_features, frame_mask)

    def estimate_mask(
        self, shared_features: torch.Tensor, query: torch.Tensor, frame_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Eqs. (3)-(4): Z `(batch, N, frames)` and query `(batch, K, C)` -> M `(batch * K, D, frames)`;
        `frame_mask` as for [`extract_shared_features`].

        A frame query `(batch, K, frames, C)` conditions each frame on its own classes (frame-level
        refinement, `frame_refinement_qrtse`): the embedding is linear and multiplies Z per frame."""
        batch, num_queries = query.shape[:2]
        embedding = self.query_embedding(query.to(shared_features.dtype))
        embedding = embedding.transpose(-1, -2) if query.dim() == 4 else embedding.unsqueeze(-1)
        conditioned = shared_features.unsqueeze(1) * embedding
        conditioned = conditioned.reshape(batch * num_queries, *shared_features.shape[1:])
        if frame_mask is not None:
            frame_mask = frame_mask.repeat_interleave(num_queries, dim=0)
        return self.mask_activation(self.mask_estimator(conditioned, frame_mask))

    def decode(self, mixture_features: torch.Tensor, mask: torch.Tensor, num_samples: int) -> torch.Tensor:
        """Eq. (5): X and M `(batch * K, D, frames)` -> s_hat `(batch * K, time)`."""
        num_queries = mask.shape[0] // mixture_features.shape[0]
        masked = mixture_features.repeat_interleave(num_queries, dim=0) * mask
        return self.decoder(masked, num_samples)

    def frame_mask(self, attention_mask: torch.Tensor | None, num_samples: int, num_frames: int) -> torch.Tensor:
        """Frame-level validity `(batch, frames)`: a frame counts if its first sample is real audio."""
        if attention_mask is None:
            return torch.ones(1, num_frames, dtype=torch.bool, device=self.device)
        return frame_validity(self.config, attention_mask.sum(-1), num_frames)

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
        threshold = resolve_threshold(self.config, threshold)
        check_threshold(threshold, self.config.num_labels)
        check_waveform(input_values, self.config.window_samples)
        check_query(query, input_values.shape[0], self.config.num_labels)
        single_query = query.dim() == 2
        query = query.unsqueeze(1) if single_query else query

        analysis = self.analyze(input_values, attention_mask)
        clip_probabilities = analysis.clip_probabilities
        refined_query = query
        if oracle_presence is not None:
            check_query(oracle_presence, input_values.shape[0], self.config.num_labels)
            refined_query = refine_query(query, oracle_presence, ORACLE_THRESHOLD)
        elif refines(threshold):
            if clip_probabilities is None:
                raise ValueError(
                    "This model has no classifier (use_classifier=False): refine with "
                    "oracle_presence or use threshold=0"
                )
            refined_query = refine_query(query, clip_probabilities, threshold)
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
        if presence_labels is not None and clip_probabilities is not None:
            cls_loss = classification_loss(
                clip_probabilities,
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
            clip_probabilities=clip_probabilities,
            frame_probabilities=analysis.frame_probabilities,
            refined_query=refined_query,
            extraction_loss=tse_loss,
            classification_loss=cls_loss,
        )
        return output if return_dict else output.to_tuple()

    def analyze(self, input_values: torch.Tensor, attention_mask: torch.Tensor | None = None) -> QrtseAnalysis:
        """The query-independent trunk, run once per mixture: eqs. (1), (2) and (6).
        `input_values` must already have passed `check_waveform`."""
        mixture_features = self.encode(input_values, attention_mask)
        frame_mask = self.frame_mask(attention_mask, input_values.shape[-1], mixture_features.shape[-1])
        padding = padded_frame_mask(frame_mask)
        shared_features = self.extract_shared_features(mixture_features, padding)
        clip_probabilities = frame_probabilities = None
        if self.classifier is not None:
            frame_mask = frame_mask.expand(input_values.shape[0], -1)
            clip_probabilities, frame_probabilities = self.classify(shared_features, frame_mask)
        return QrtseAnalysis(
            mixture_features,
            shared_features,
            clip_probabilities,
            frame_probabilities,
            input_values.shape[-1],
            attention_mask,
            padding,
        )

    def extract(self, analysis: QrtseAnalysis, query: torch.Tensor) -> torch.Tensor:
        """Eqs. (3)-(5) for an already refined query `(batch, K, C)`, or a frame query `(batch, K,
        frames, C)` with the frames of Z, -> `(batch, K, time)`."""
        mask = self.estimate_mask(analysis.shared_features, query, analysis.frame_mask)
        if query.dim() == 4 and self.config.silence_empty_query:  # frames that name no class
            mask = mask * empty_frame_gate(query, self.config.frame_rate, analysis.frame_mask).to(mask.dtype)
        extracted = self.decode(analysis.mixture_features, mask, analysis.num_samples)
        extracted = extracted.view(*query.shape[:2], analysis.num_samples)
        if self.config.silence_empty_query and query.dim() == 3:
            extracted = extracted * (query.sum(-1, keepdim=True) > 0)
        if analysis.attention_mask is not None:
            extracted = extracted * analysis.attention_mask.unsqueeze(1).to(extracted.dtype)
        return extracted
