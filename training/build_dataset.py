"""Build clip pools and frozen validation/test mixtures (paper Section 4.1).

    python -m qrtse.training.build_dataset --source builtin --output data/builtin
    python -m qrtse.training.build_dataset --source real --output data/real            # Debian real recordings
    python -m qrtse.training.build_dataset --source builtin-real --output data/builtin-real
    python -m qrtse.training.build_dataset --source fsd-tau --fsd-root FSD --tau-root TAU --output data/fsd-tau
    python -m qrtse.training.build_dataset --source folder --foreground-root my_sounds --background-root my_noise \\
        --output data/mine

Writes `<output>/clips` (clip pools; the train pool feeds dynamic mixing), `<output>/mixtures`
(save_to_disk) and `<output>/data/*.parquet` (frozen splits), `<output>/README.md` (dataset
card) and `<output>/build_info.json`. Arguments can also come from a JSON file
(`python -m qrtse.training.build_dataset args.json`).
"""

import json
import logging
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .arrow_io import stable_fingerprint
from .clip_dataset import build_clip_dataset, load_clip_pools
from .dataset_card import dataset_card
from .frozen_split import iter_mixture_examples, save_frozen_splits
from .mixing import MixingConfig

logger = logging.getLogger(__name__)


@dataclass
class BuildArguments:
    source: str = field(default="builtin", metadata={"help": "builtin, real, builtin-real, fsd-tau or folder."})
    output: str = field(default="data/builtin", metadata={"help": "Output folder."})
    num_train: int = field(default=50000, metadata={"help": "Training mixtures per epoch (dynamic mixing)."})
    num_validation: int = field(default=5000, metadata={"help": "Frozen validation mixtures (paper: 5k)."})
    num_test: int = field(default=10000, metadata={"help": "Frozen test mixtures (paper: 10k)."})
    seed: int = field(default=0, metadata={"help": "Seeds clip splits, built-in renders and mixtures."})
    num_workers: int = field(default=1, metadata={"help": "Processes rendering frozen mixtures."})
    reuse_clips: bool = field(default=False, metadata={"help": "Keep an existing <output>/clips."})
    no_parquet: bool = field(default=False, metadata={"help": "Skip the parquet copy (data/*.parquet)."})
    no_progress: bool = field(default=False, metadata={"help": "Hide progress bars."})


@dataclass
class MixingArguments:
    min_sources: int = field(default=3, metadata={"help": "Fewest foreground classes per mixture."})
    max_sources: int = field(default=5, metadata={"help": "Most foreground classes per mixture (= stem slots)."})
    snr_low: float = field(default=15.0, metadata={"help": "Lowest per-event SNR (dB) against the background."})
    snr_high: float = field(default=25.0, metadata={"help": "Highest per-event SNR (dB)."})
    duration_s: float = field(default=6.0, metadata={"help": "Mixture length in seconds."})

    def config(self) -> MixingConfig:
        return MixingConfig(
            duration_s=self.duration_s,
            min_sources=self.min_sources,
            max_sources=self.max_sources,
            snr_db_range=(self.snr_low, self.snr_high),
        )


@dataclass
class SourceArguments:
    # builtin
    clips_per_class_train: int = field(default=200, metadata={"help": "builtin: train clips per class."})
    clips_per_class_validation: int = field(default=30, metadata={"help": "builtin: validation clips/class."})
    clips_per_class_test: int = field(default=50, metadata={"help": "builtin: test clips per class."})
    backgrounds_train: int = field(default=200, metadata={"help": "builtin: train backgrounds."})
    backgrounds_validation: int = field(default=30, metadata={"help": "builtin: validation backgrounds."})
    backgrounds_test: int = field(default=50, metadata={"help": "builtin: test backgrounds."})
    background_seconds: float = field(default=10.0, metadata={"help": "builtin: background length (s)."})
    include_stand_ins: bool = field(default=False, metadata={"help": "builtin: add weak stand-in classes."})
    # fsd-tau
    fsd_root: str | None = field(default=None, metadata={"help": "fsd-tau: holds FSDKaggle2018.audio_train/..."})
    tau_root: str | None = field(default=None, metadata={"help": "fsd-tau: the TAU 2019 development folder."})
    manually_verified_only: bool = field(default=False, metadata={"help": "fsd-tau: only verified FSD labels."})
    # folder
    foreground_root: str | None = field(default=None, metadata={"help": "folder: <root>/<label>/*.wav..."})
    foreground_hf_dataset: str | None = field(default=None, metadata={"help": "folder: HF dataset id/path."})
    audio_column: str = field(default="audio", metadata={"help": "folder + HF dataset: audio column."})
    label_column: str = field(default="label", metadata={"help": "folder + HF dataset: label column."})
    background_root: str | None = field(default=None, metadata={"help": "folder: background audio files."})
    # real and builtin-real (fields added after v1: they enter the fingerprint only when set)
    debian_cache: str | None = field(default=None, metadata={"help": "real: unpacked Debian packages."})
    no_fetch: bool = field(default=False, metadata={"help": "real: use only what the Debian cache holds."})
    max_real_repeats: int = field(default=4, metadata={"help": "builtin-real: repeats of a real train clip."})
    # fsd-tau and folder
    validation_fraction: float = field(default=0.1, metadata={"help": "Held-out share for validation."})
    test_fraction: float = field(default=0.1, metadata={"help": "folder: held-out share for test."})


def make_source(build_args: BuildArguments, args: SourceArguments):
    """The `ClipSource` named by `build_args.source`; imports only what that source needs."""

    def require(**values):
        missing = [f"--{name.replace('_', '-')}" for name, value in values.items() if not value]
        if missing:
            raise SystemExit(f"--source {build_args.source} needs {' and '.join(missing)}")

    if build_args.source in ("real", "builtin-real"):
        from .sources.real_recordings import RealRecordingsSource
        from .sources.real_recordings.packages import DEFAULT_CACHE, DebianCache

        real = RealRecordingsSource(DebianCache(args.debian_cache or DEFAULT_CACHE, fetch=not args.no_fetch))
        if real.left_out:
            logger.warning(
                "Real recordings left out %d of %d packages (%s); the corpus holds the rest",
                len(real.left_out),
                len(real.manifest.packages),
                "; ".join(f"{p}: {why}" for p, why in real.left_out.items()),
            )
        if build_args.source == "real":
            if not real.class_names:
                raise SystemExit(
                    "--source real found no real recordings: it needs apt-get (Debian/Ubuntu); use builtin"
                )
            return real
        from .sources.mixed import RenderedAndRealSource

        return RenderedAndRealSource(builtin_source(build_args, args), real, args.max_real_repeats)
    if build_args.source == "builtin":
        return builtin_source(build_args, args)
    if build_args.source == "fsd-tau":
        from .sources.fsd_tau import FsdTauSource

        require(fsd_root=args.fsd_root, tau_root=args.tau_root)
        return FsdTauSource(
            args.fsd_root, args.tau_root, args.validation_fraction, args.manually_verified_only, seed=build_args.seed
        )
    if build_args.source == "folder":
        from .sources.folder import HuggingFaceDatasetSource, LabelledFolderSource

        require(background_root=args.background_root)
        fractions = {
            "validation_fraction": args.validation_fraction,
            "test_fraction": args.test_fraction,
            "seed": build_args.seed,
        }
        if args.foreground_hf_dataset:
            return HuggingFaceDatasetSource(
                args.foreground_hf_dataset, args.background_root, args.audio_column, args.label_column, **fractions
            )
        require(foreground_root=args.foreground_root)
        return LabelledFolderSource(args.foreground_root, args.background_root, **fractions)
    raise SystemExit(f"unknown --source {build_args.source!r}: choose builtin, real, builtin-real, fsd-tau or folder")


def builtin_source(build_args: BuildArguments, args: SourceArguments):
    from .sources.builtin import BuiltinSource

    return BuiltinSource(
        clips_per_class={
            "train": args.clips_per_class_train,
            "validation": args.clips_per_class_validation,
            "test": args.clips_per_class_test,
        },
        backgrounds_per_split={
            "train": args.backgrounds_train,
            "validation": args.backgrounds_validation,
            "test": args.backgrounds_test,
        },
        background_seconds=args.background_seconds,
        include_stand_ins=args.include_stand_ins,
        seed=build_args.seed,
    )


def toy_builtin_arguments(output, seed=0, **overrides) -> tuple:
    """Arguments of a built-in corpus build small enough for tests and smoke runs (a few seconds):
    16 training mixtures per epoch over 3 clips per class, 6 validation and 6 test mixtures."""
    build_args = BuildArguments(
        source="builtin", output=str(output), num_train=16, num_validation=6, num_test=6, seed=seed, no_progress=True
    )
    source_args = SourceArguments(
        clips_per_class_train=3,
        clips_per_class_validation=2,
        clips_per_class_test=2,
        backgrounds_train=2,
        backgrounds_validation=1,
        backgrounds_test=1,
        background_seconds=4.0,
    )
    for name, value in overrides.items():
        setattr(source_args if hasattr(source_args, name) else build_args, name, value)
    return build_args, MixingArguments(), source_args


# Source arguments added after the v1 corpus: left out of fingerprints while at their defaults,
# so that a v1 build (and its test split) stays byte for byte what it was.
ARGUMENTS_AFTER_V1 = ("debian_cache", "no_fetch", "max_real_repeats")


def fingerprinted_source_args(source_args: SourceArguments) -> dict:
    values, defaults = asdict(source_args), asdict(SourceArguments())
    for name in ARGUMENTS_AFTER_V1:
        # Where packages are cached, and whether to fetch them, never change the data.
        if name in ("debian_cache", "no_fetch") or values[name] == defaults[name]:
            del values[name]
    return values


def build(build_args: BuildArguments, mixing: MixingArguments, source_args: SourceArguments) -> Path:
    """Run the whole build; returns the output folder."""
    output, config, progress = Path(build_args.output), mixing.config(), not build_args.no_progress
    source = make_source(build_args, source_args)
    # What the data depends on: not where it is written, nor how fast.
    not_content = ("output", "num_workers", "no_progress", "no_parquet", "reuse_clips")
    content_args = {k: v for k, v in asdict(build_args).items() if k not in not_content}
    fingerprint = stable_fingerprint(content_args, asdict(mixing), fingerprinted_source_args(source_args))
    clips_dir = output / "clips"
    if not (build_args.reuse_clips and (clips_dir / "dataset_dict.json").is_file()):
        clips_fingerprint = stable_fingerprint(fingerprinted_source_args(source_args), build_args.seed)
        build_clip_dataset(source, clips_dir, fingerprint=clips_fingerprint, progress=progress)
    split_sizes = {"validation": build_args.num_validation, "test": build_args.num_test}
    examples = {}
    for split, size in split_sizes.items():
        foreground, background, class_names = load_clip_pools(clips_dir, split)
        if tuple(class_names) != tuple(source.class_names):
            raise ValueError(f"{clips_dir} was built with other classes; rebuild without --reuse-clips")
        examples[split] = iter_mixture_examples(
            split, size, build_args.seed, foreground, background, class_names, config, build_args.num_workers, progress
        )
    save_frozen_splits(examples, source.class_names, output, fingerprint, config, parquet=not build_args.no_parquet)
    (output / "README.md").write_text(
        dataset_card(source, split_sizes, build_args.num_train, build_args.seed, config, output)
    )
    info = {
        "source": source.name,
        "audio_redistributable": source.audio_redistributable,
        "class_names": list(source.class_names),
        "sample_rate": config.sample_rate,
        "train_mixtures_per_epoch": build_args.num_train,
        "mixing": asdict(config),
        "arguments": {**asdict(build_args), **asdict(mixing), **asdict(source_args)},
    }
    (output / "build_info.json").write_text(json.dumps(info, indent=2) + "\n")
    return output


def main(argv=None):
    from transformers import HfArgumentParser

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = HfArgumentParser((BuildArguments, MixingArguments, SourceArguments))
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0].endswith(".json"):
        arguments = parser.parse_json_file(argv[0])
    else:
        arguments = parser.parse_args_into_dataclasses(argv)
    output = build(*arguments)
    print(f"Built {output}: clips/, mixtures/, data/*.parquet, README.md")


if __name__ == "__main__":
    main()
