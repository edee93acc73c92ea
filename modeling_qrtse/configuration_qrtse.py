"""Configuration of the context-aware query-refinement TSE model (paper Sections 3 and 4.1)."""

from transformers import PretrainedConfig

from .frame_smoothing_qrtse import FrameSmoothing

# The 41 FSDKaggle2018 classes (Fonseca et al., DCASE 2018), the paper's foreground vocabulary.
FSD_KAGGLE_2018_LABELS = (
    "Acoustic_guitar",
    "Applause",
    "Bark",
    "Bass_drum",
    "Burping_or_eructation",
    "Bus",
    "Cello",
    "Chime",
    "Clarinet",
    "Computer_keyboard",
    "Cough",
    "Cowbell",
    "Double_bass",
    "Drawer_open_or_close",
    "Electric_piano",
    "Fart",
    "Finger_snapping",
    "Fireworks",
    "Flute",
    "Glockenspiel",
    "Gong",
    "Gunshot_or_gunfire",
    "Harmonica",
    "Hi-hat",
    "Keys_jangling",
    "Knock",
    "Laughter",
    "Meow",
    "Microwave_oven",
    "Oboe",
    "Saxophone",
    "Scissors",
    "Shatter",
    "Snare_drum",
    "Squeak",
    "Tambourine",
    "Tearing",
    "Telephone",
    "Trumpet",
    "Violin_or_fiddle",
    "Writing",
)

# Presets are overrides of the defaults, which are the paper's Section 4.1 configuration.
_PRESETS = {
    "paper": {},
    # The package's embedded default model, trainable on two CPU cores in hours: 10 ms / 5 ms
    # encoder (half the paper's frame rate) and narrower TCNs, 0.4 GMAC per second of audio.
    "small": {
        "window_ms": 10.0,
        "hop_ms": 5.0,
        "encoder_filters": 128,
        "bottleneck_channels": 128,
        "hidden_channels": 256,
        "skip_channels": 128,
        "feature_channels": 128,
        "shared_blocks": 6,
        "shared_repeats": 1,
        "mask_blocks": 6,
        "mask_repeats": 2,
        "classifier_hidden_size": 128,
    },
    # Causal forms for streaming (issue 31): no future frames anywhere, online refinement.
    "small-causal": {"preset": "small", "causal": True},
    "paper-causal": {"preset": "paper", "causal": True},
    # For tests only: a few thousand parameters.
    "tiny": {
        "encoder_filters": 16,
        "bottleneck_channels": 8,
        "hidden_channels": 16,
        "skip_channels": 8,
        "feature_channels": 8,
        "shared_blocks": 2,
        "shared_repeats": 1,
        "mask_blocks": 2,
        "mask_repeats": 1,
        "classifier_hidden_size": 8,
        "classifier_layers": 1,
    },
}

_NORM_TYPES = ("cLN", "gLN")
_POOLINGS = ("linear_softmax", "max", "mean")


class QrtseConfig(PretrainedConfig):
    r"""
    Configuration of [`QrtseModel`]. The defaults are the paper's Section 4.1 configuration
    (`QrtseConfig.from_preset("paper")`); Conv-TasNet notation (Luo & Mesgarani 2019) in brackets.

    Args:
        sampling_rate (`int`, *optional*, defaults to 16000):
            Sample rate of the model's input and output audio, in Hz.
        window_ms (`float`, *optional*, defaults to 5.0):
            Length of the learnable encoder/decoder filters in milliseconds.
        hop_ms (`float`, *optional*, defaults to 2.5):
            Stride of the encoder in milliseconds (50% overlap in the paper).
        encoder_filters (`int`, *optional*, defaults to 256):
            Number of encoder filters [D].
        bottleneck_channels (`int`, *optional*, defaults to 256):
            Bottleneck / residual channels of the temporal convolutional networks [B].
        hidden_channels (`int`, *optional*, defaults to 512):
            Channels inside each 1-D convolutional block [H].
        skip_channels (`int`, *optional*, defaults to 256):
            Skip-connection channels [Sc].
        kernel_size (`int`, *optional*, defaults to 3):
            Depthwise convolution kernel size [P].
        feature_channels (`int`, *optional*, defaults to 256):
            Dimension of the shared features Z and of the query embedding [N] (eqs. 2-3).
        shared_blocks (`int`, *optional*, defaults to 8):
            Blocks per stack in the shared feature extractor [X].
        shared_repeats (`int`, *optional*, defaults to 1):
            Stacks in the shared feature extractor [R].
        mask_blocks (`int`, *optional*, defaults to 8):
            Blocks per stack in the mask estimator [X].
        mask_repeats (`int`, *optional*, defaults to 3):
            Stacks in the mask estimator [R].
        norm_type (`str`, *optional*, defaults to `"cLN"`):
            Normalisation inside the TCN blocks. `"cLN"` normalises each frame over channels, so
            the network's output depends only on its finite receptive field and long audio can
            be processed in chunks that reproduce the one-pass result exactly. `"gLN"` (Conv-
            TasNet's non-causal choice) normalises over the whole clip. The paper does not say
            which it used; both have the same parameter count and MACs.
        mask_activation (`str`, *optional*, defaults to `"sigmoid"`):
            Non-linearity producing the mask M (eq. 4): `"sigmoid"` (Conv-TasNet) or `"relu"`.
        use_classifier (`bool`, *optional*, defaults to `True`):
            Include the BiGRU sound-event classifier (eq. 6). `False` gives the paper's baseline
            architecture, which can only refine queries with oracle presence labels.
        classifier_layers (`int`, *optional*, defaults to 2):
            Number of BiGRU layers.
        classifier_hidden_size (`int`, *optional*, defaults to 256):
            Output size of each BiGRU layer, both directions together (128 per direction for
            256). The paper's "hidden dimension 256" read this way reproduces its parameter
            count (13.67M); 256 per direction would give 15.0M.
        classifier_pooling (`str`, *optional*, defaults to `"linear_softmax"`):
            Frame-to-clip pooling: `"linear_softmax"` (paper, Wang et al. 2019), `"max"` or `"mean"`.
        refinement_threshold (`float`, *optional*, defaults to 0.1):
            Default theta of eq. (7); 0 disables refinement.
        class_thresholds (`dict[str, float]`, *optional*):
            Per-class theta of eq. (7) by class name (chosen on validation by
            `qrtse.training.select_class_thresholds`); classes it does not name take
            `refinement_threshold`. A `threshold=` given to a call overrides them all.
        frame_smoothing (`dict`, *optional*):
            How frame-level refinement (`refinement="frame"`) decides and smooths its frame
            decisions (`frame_smoothing_qrtse.FrameSmoothing`): `threshold` (None: theta), `gate_s`
            (window of the presence decision; None: the whole input) and `median_s`, `min_gap_s`,
            `min_event_s`, `pad_s` in seconds; missing keys are None / 0 (no smoothing).
        causal (`bool`, *optional*, defaults to `False`):
            A causal model for streaming (`streaming_qrtse.QrtseStreamer`): the depthwise
            convolutions see (P-1) x d frames of the past and none of the future, the classifier
            is a unidirectional GRU of `classifier_hidden_size` units, and refinement is online
            (`online_refinement_qrtse`): a queried class is kept from the frame its presence over
            the trailing `presence_window_s` reaches theta until it has stayed below for
            `release_s`. The output of sample t then depends on the input up to t + window - hop
            only: the algorithmic latency is one encoder window (`algorithmic_latency_s`). Needs
            `norm_type="cLN"` (gLN normalises over the whole clip).
        presence_window_s (`float`, *optional*, defaults to 1.0):
            Causal models: length of the trailing window over which online presence pools the
            frame probabilities with `classifier_pooling`.
        release_s (`float`, *optional*, defaults to 0.5):
            Causal models: how long a kept class stays in the refined query after its online
            presence falls below theta (hysteresis, so a query does not flicker).
        silence_empty_query (`bool`, *optional*, defaults to `False`):
            What the model returns for an item whose (refined) query names no class. `False`
            runs the mask estimator on the zero query as the paper does (its output is then
            whatever the network learned for "nothing", usually strongly attenuated, paper
            Table 1 FUQ). `True` returns exact zeros, the limit the paper's Section 3.2 aims for.
        snr_max (`float`, *optional*, defaults to 30.0):
            SNR_max in dB of the thresholded SNR loss (Wisdom et al. 2020), tau = 10^(-SNR_max/10).
            Also the soft floor of the inactive-sample loss (SoundBeam).
        classification_loss_weight (`float`, *optional*, defaults to 1.0):
            lambda of eq. (8).
        classification_positive_weight (`float`, *optional*, defaults to 1.0):
            Weight of the present classes' terms in L_cls (1.0: the paper's plain BCE). Larger
            values trade false positives for fewer false negatives, the error the paper's
            Section 4.5 names as the one that costs FMQ quality.
        classification_focal_gamma (`float`, *optional*, defaults to 0.0):
            gamma of the focal BCE (Lin et al. 2017): each term of L_cls is scaled by
            (1 - p_t)^gamma, where p_t is the probability given to the true answer, so classes
            the classifier already gets right stop dominating the loss. 0 is plain BCE (the paper).
        id2label (`dict[int, str]`, *optional*):
            Class vocabulary; defaults to the 41 FSDKaggle2018 labels.
    """

    model_type = "qrtse"

    def __init__(
        self,
        sampling_rate=16000,
        window_ms=5.0,
        hop_ms=2.5,
        encoder_filters=256,
        bottleneck_channels=256,
        hidden_channels=512,
        skip_channels=256,
        kernel_size=3,
        feature_channels=256,
        shared_blocks=8,
        shared_repeats=1,
        mask_blocks=8,
        mask_repeats=3,
        norm_type="cLN",
        mask_activation="sigmoid",
        use_classifier=True,
        classifier_layers=2,
        classifier_hidden_size=256,
        classifier_pooling="linear_softmax",
        refinement_threshold=0.1,
        class_thresholds=None,
        frame_smoothing=None,
        causal=False,
        presence_window_s=1.0,
        release_s=0.5,
        silence_empty_query=False,
        snr_max=30.0,
        classification_loss_weight=1.0,
        classification_positive_weight=1.0,
        classification_focal_gamma=0.0,
        **kwargs,
    ):
        if kwargs.get("label2id") and not kwargs.get("id2label"):
            kwargs["id2label"] = {int(index): label for label, index in kwargs["label2id"].items()}
        if "id2label" not in kwargs and "num_labels" not in kwargs:
            kwargs["id2label"] = dict(enumerate(FSD_KAGGLE_2018_LABELS))
        super().__init__(**kwargs)
        # transformers 5 no longer derives label2id from id2label.
        self.label2id = {label: int(index) for index, label in self.id2label.items()}
        self.sampling_rate = sampling_rate
        self.window_ms = window_ms
        self.hop_ms = hop_ms
        self.encoder_filters = encoder_filters
        self.bottleneck_channels = bottleneck_channels
        self.hidden_channels = hidden_channels
        self.skip_channels = skip_channels
        self.kernel_size = kernel_size
        self.feature_channels = feature_channels
        self.shared_blocks = shared_blocks
        self.shared_repeats = shared_repeats
        self.mask_blocks = mask_blocks
        self.mask_repeats = mask_repeats
        self.norm_type = norm_type
        self.mask_activation = mask_activation
        self.use_classifier = use_classifier
        self.classifier_layers = classifier_layers
        self.classifier_hidden_size = classifier_hidden_size
        self.classifier_pooling = classifier_pooling
        self.refinement_threshold = refinement_threshold
        self.class_thresholds = None if class_thresholds is None else dict(class_thresholds)
        self.frame_smoothing = FrameSmoothing.from_dict(frame_smoothing).to_dict()
        self.causal = causal
        self.presence_window_s = presence_window_s
        self.release_s = release_s
        self.silence_empty_query = silence_empty_query
        self.snr_max = snr_max
        self.classification_loss_weight = classification_loss_weight
        self.classification_positive_weight = classification_positive_weight
        self.classification_focal_gamma = classification_focal_gamma
        self._validate()

    def _validate(self):
        positive = (
            "sampling_rate",
            "encoder_filters",
            "bottleneck_channels",
            "hidden_channels",
            "skip_channels",
            "kernel_size",
            "feature_channels",
            "shared_blocks",
            "shared_repeats",
            "mask_blocks",
            "mask_repeats",
            "classifier_layers",
            "classifier_hidden_size",
        )
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"QrtseConfig.{name} must be a positive integer, got {value!r}")
        if self.window_samples < 2 or self.hop_samples < 1 or self.hop_samples > self.window_samples:
            raise ValueError(
                f"window_ms={self.window_ms} and hop_ms={self.hop_ms} give a window of "
                f"{self.window_samples} and a hop of {self.hop_samples} samples; need "
                "window >= 2 and 1 <= hop <= window"
            )
        if self.norm_type not in _NORM_TYPES:
            raise ValueError(f"norm_type must be one of {_NORM_TYPES}, got {self.norm_type!r}")
        if self.mask_activation not in ("sigmoid", "relu"):
            raise ValueError(f"mask_activation must be 'sigmoid' or 'relu', got {self.mask_activation!r}")
        if self.classifier_pooling not in _POOLINGS:
            raise ValueError(f"classifier_pooling must be one of {_POOLINGS}, got {self.classifier_pooling!r}")
        self._validate_causal()
        if self.use_classifier and not self.causal and self.classifier_hidden_size % 2:
            raise ValueError(
                f"classifier_hidden_size={self.classifier_hidden_size} must be even: it is split "
                "between the two GRU directions"
            )
        if not 0.0 <= self.refinement_threshold <= 1.0:
            raise ValueError(f"refinement_threshold must lie in [0, 1], got {self.refinement_threshold}")
        self._validate_class_thresholds()
        if self.snr_max <= 0:
            raise ValueError(f"snr_max must be positive (dB), got {self.snr_max}")
        if self.classification_loss_weight < 0:
            raise ValueError(f"classification_loss_weight must be >= 0, got {self.classification_loss_weight}")
        if not self.classification_positive_weight > 0:
            raise ValueError(f"classification_positive_weight must be > 0, got {self.classification_positive_weight}")
        if not self.classification_focal_gamma >= 0:
            raise ValueError(f"classification_focal_gamma must be >= 0, got {self.classification_focal_gamma}")

    def _validate_causal(self):
        if self.causal is not True and self.causal is not False:
            raise ValueError(f"causal must be True or False, got {self.causal!r}")
        if self.causal and self.norm_type != "cLN":
            raise ValueError(
                f"a causal model needs norm_type='cLN' (gLN normalises over the whole clip), got {self.norm_type!r}"
            )
        for name in ("presence_window_s", "release_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")

    def _validate_class_thresholds(self):
        if self.class_thresholds is None:
            return
        unknown = sorted(set(self.class_thresholds) - set(self.label2id))
        if unknown:
            raise ValueError(f"class_thresholds names classes the model does not have: {unknown}")
        for label, theta in self.class_thresholds.items():
            if isinstance(theta, bool) or not isinstance(theta, (int, float)) or not 0.0 <= theta <= 1.0:
                raise ValueError(f"class_thresholds[{label!r}] must be a number in [0, 1], got {theta!r}")

    @property
    def window_samples(self) -> int:
        """Encoder filter length in samples."""
        return round(self.sampling_rate * self.window_ms / 1000)

    @property
    def hop_samples(self) -> int:
        """Encoder stride in samples."""
        return round(self.sampling_rate * self.hop_ms / 1000)

    @property
    def frame_offset_samples(self) -> int:
        """Zero padding before the first sample (`window - hop`): encoder frame f covers input
        samples from `f * hop - frame_offset_samples` on, so every sample is covered alike."""
        return self.window_samples - self.hop_samples

    def num_frames_of(self, num_samples: int) -> int:
        """Frames whose first sample is real audio in an input of `num_samples` (the valid ones)."""
        return -(-(num_samples + self.frame_offset_samples) // self.hop_samples)

    @property
    def frame_rate(self) -> float:
        """Encoder frames per second of audio."""
        return self.sampling_rate / self.hop_samples

    @property
    def presence_window_frames(self) -> int:
        """Frames of the online presence window (causal models), at least one."""
        return max(1, round(self.presence_window_s * self.frame_rate))

    @property
    def release_frames(self) -> int:
        """Frames a kept class outlasts its presence (causal models), at least one."""
        return max(1, round(self.release_s * self.frame_rate))

    @property
    def algorithmic_latency_s(self) -> float | None:
        """Causal models: the output of sample t is final once the input reaches sample
        t + window - 1 (the decoder's overlap-add needs every frame covering t), so one encoder
        window. None for non-causal models (they read the whole receptive field's future)."""
        return self.window_samples / self.sampling_rate if self.causal else None

    @property
    def receptive_field_frames(self) -> int:
        """Frames of context the mask depends on, from both TCNs together (one side is half; a
        causal model's is all past)."""
        dilations = sum(2**b for b in range(self.shared_blocks)) * self.shared_repeats
        dilations += sum(2**b for b in range(self.mask_blocks)) * self.mask_repeats
        return 1 + (self.kernel_size - 1) * dilations

    @classmethod
    def presets(cls) -> tuple:
        """Names accepted by [`from_preset`]."""
        return tuple(_PRESETS)

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "QrtseConfig":
        """Build a named configuration: `"paper"` (Section 4.1), `"small"` (embedded default
        model, CPU-trainable), their causal forms `"paper-causal"` and `"small-causal"` (streaming)
        or `"tiny"` (tests). Keyword arguments override preset values."""
        if name not in _PRESETS:
            raise ValueError(f"Unknown preset {name!r}; choose one of {tuple(_PRESETS)}")
        values = dict(_PRESETS[name])
        base = values.pop("preset", None)
        if base is not None:
            values = {**_PRESETS[base], **values}
        return cls(**{**values, **overrides})
