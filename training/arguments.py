"""Command-line / JSON arguments of `qrtse.training.train`, parsed with `HfArgumentParser`."""

from dataclasses import dataclass, field


@dataclass
class ModelArguments:
    preset: str = field(
        default="paper",
        metadata={"help": "QrtseConfig preset: paper, small, tiny or a causal one (small-causal, paper-causal)."},
    )
    system: str = field(
        default="proposed",
        metadata={
            "help": "proposed (classifier, FMQ only), baseline1 (no classifier, FMQ only) or "
            "baseline2 (no classifier, inactive samples). Paper Section 4.1."
        },
    )
    init_from: str | None = field(default=None, metadata={"help": "Start from a saved model folder."})
    causal: bool = field(
        default=False,
        metadata={
            "help": "Train the causal (streaming) form: of init_from, keeping its trunk's weights and starting "
            "a fresh classifier (modeling_qrtse.causal_form_qrtse), else of the preset."
        },
    )
    classification_positive_weight: float | None = field(
        default=None,
        metadata={"help": "Weight of present classes in L_cls (QrtseConfig); unset keeps the preset's / init_from's."},
    )
    classification_focal_gamma: float | None = field(
        default=None,
        metadata={
            "help": "Focal BCE gamma of L_cls (QrtseConfig; 0 = plain BCE); unset keeps the preset's / init_from's."
        },
    )


@dataclass
class DataArguments:
    data_dir: str = field(default="data/builtin", metadata={"help": "Output folder of qrtse.training.build_dataset."})
    segment_seconds: float = field(
        default=6.0, metadata={"help": "Random crop of each training mixture; 6 s = no crop (paper)."}
    )
    inactive_fraction: float = field(
        default=0.1, metadata={"help": "baseline2 only: share of examples turned into inactive samples."}
    )
    inactive_start_epoch: float = field(
        default=0.0,
        metadata={
            "help": "baseline2 only: inactive samples begin after this many epochs (0, the paper: from "
            "the first step). A guard against collapse to silent output, which a from-scratch small "
            "CPU run hit within 250 steps."
        },
    )
    augment_probability: float = field(
        default=0.0,
        metadata={
            "help": "Share of training mixtures given real-world augmentation (EQ, room, band limit; "
            "qrtse.training.augmentation). 0 (the paper): none."
        },
    )
    validation_mixtures: int = field(default=200, metadata={"help": "Validation mixtures scored per evaluation."})
    num_workers: int = field(default=0, metadata={"help": "DataLoader workers for dynamic mixing."})


@dataclass
class TrainArguments:
    output_dir: str = field(default="runs/proposed", metadata={"help": "Checkpoints, logs and best model."})
    epochs: int = field(default=100, metadata={"help": "Paper: 100."})
    steps_per_epoch: int = field(default=6250, metadata={"help": "Paper: 50k training mixtures / batch 8."})
    max_steps: int | None = field(default=None, metadata={"help": "Stop early after this many steps."})
    max_minutes: float | None = field(
        default=None,
        metadata={
            "help": "Time budget of this invocation: stop at the first step boundary after this many minutes, "
            "save a checkpoint, validate and print a summary. A resumed run gets a new budget and continues."
        },
    )
    batch_size: int = field(default=8, metadata={"help": "Per process. Paper: 8."})
    learning_rate: float = field(default=5e-4, metadata={"help": "Peak learning rate. Paper: 5e-4."})
    warmup_epochs: float = field(default=10, metadata={"help": "Linear warm-up, then cosine decay to 0. Paper: 10."})
    max_grad_norm: float = field(default=5.0, metadata={"help": "Gradient clipping; 0 disables."})
    mixed_precision: str = field(
        default="no",
        metadata={
            "help": "no, fp16 or bf16 (Accelerate). On the CPU fast path bf16 is the fused modules' mixed "
            "precision (bf16 GEMMs, float32 elsewhere; float32 with a warning on CPUs without native bf16)."
        },
    )
    checkpoint_every: int = field(default=500, metadata={"help": "Steps between resumable checkpoints."})
    keep_checkpoints: int = field(default=2, metadata={"help": "Resumable checkpoints kept on disk."})
    evaluate_every: int = field(default=1000, metadata={"help": "Steps between validation runs."})
    log_every: int = field(default=20, metadata={"help": "Steps between TensorBoard logs."})
    seed: int = field(default=0, metadata={"help": "Seeds initialisation, data and query sampling."})
    num_threads: int | None = field(default=None, metadata={"help": "torch CPU threads per process."})
    train_only_classifier: bool = field(
        default=False,
        metadata={
            "help": "Freeze the trunk and the mask estimator and train the classifier alone on L_cls "
            "(qrtse.training.classifier_stage); the best model is chosen by validation macro-F1."
        },
    )
    reference_path: bool = field(
        default=False,
        metadata={
            "help": "Train the eager reference modules on CPU instead of the fast training path "
            "(QrtseModel.optimize_for_training); same parameters and gradients, slower."
        },
    )
