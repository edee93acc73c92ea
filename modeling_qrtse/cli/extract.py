"""`qrtse extract`: the pipeline from the command line, over one file or many (one driver).

What a run reads and writes is planned and checked first (`plan`), then the model is loaded, then
`driver.run_extractions` extracts every input (a single file is a run of one) and
`extract_summary` prints what it found.
"""

from pathlib import Path

from modeling_qrtse.cli.batch_report import extraction_settings
from modeling_qrtse.cli.driver import run_extractions
from modeling_qrtse.cli.extract_summary import print_file_summary, print_folder_summary
from modeling_qrtse.cli.models import loading, qrtse_config
from modeling_qrtse.cli.output_files import write_audio
from modeling_qrtse.cli.plan import is_folder_run, plan_file, plan_folder
from modeling_qrtse.example_mixtures import example_mixture


def add_extract_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="extract the sounds a query names from a mixture (context-aware query refinement)",
        description="Extract target sounds from MIXTURE. Prints the classes the model detects and the "
        "refined query (eq. 7: queried classes detected with p < threshold are dropped), and writes the "
        "extracted audio at the model rate (16 kHz by default).",
    )
    parser.add_argument(
        "mixture",
        nargs="*",
        help="audio file (wav, flac, ogg, mp3; any rate and channel count); several files, folders or glob "
        "patterns extract them all into the folder -o (resumable; see `modeling_qrtse.cli.driver`)",
    )
    parser.add_argument(
        "--example",
        nargs="?",
        type=int,
        const=1,
        metavar="N",
        help="use shipped example mixture N (default 1): real recordings with a query naming one present and one "
        "absent class (used when --query is not given); the mixture is written next to the output as "
        "<output>_mixture.wav",
    )
    parser.add_argument(
        "-q",
        "--query",
        nargs="+",
        action="append",
        metavar="CLASS",
        help="classes to extract together (names or indices, see `qrtse classes`); repeat --query to "
        "extract several targets, written as <output>_1.wav, <output>_2.wav, ...",
    )
    parser.add_argument(
        "-o",
        "--output",
        help="output audio file (default: extracted.wav); with several inputs, the output folder (default: extracted)",
    )
    parser.add_argument(
        "--residual", action="store_true", help="also write the mixture minus the target as <output>_residual.wav"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace output files that exist (the input is never replaced)"
    )
    parser.add_argument("--model", help="saved model folder or Hub id (default: the embedded checkpoint)")
    parser.add_argument(
        "--threshold",
        type=float,
        help="theta for every class (default: the model's, per class where its config has class_thresholds)",
    )
    parser.add_argument("--no-refine", action="store_true", help="use the query as given (no refinement)")
    parser.add_argument("--oracle", nargs="*", metavar="CLASS", help="refine with these known-present classes")
    parser.add_argument(
        "--refinement",
        choices=("file", "chunk", "frame", "online"),
        default=None,
        help="decide the refined query once per file (the default), per chunk of --chunk-length seconds, per "
        "frame (each queried class kept only where the classifier hears it; see --frame-smoothing), or online "
        "(causal models, their default: each frame from the past, as they stream)",
    )
    parser.add_argument(
        "--frame-smoothing",
        nargs="+",
        metavar="NAME=SECONDS",
        help="with --refinement frame: override the model's frame smoothing, e.g. pad_s=0.3 median_s=0.2 "
        "(names: threshold, gate_s, median_s, min_gap_s, min_event_s, pad_s)",
    )
    parser.add_argument("--chunk-length", type=float, help="chunk length in seconds (default 30; 0 = one pass)")
    parser.add_argument("--keep-rate", action="store_true", help="write the output at the input's sample rate")
    parser.add_argument(
        "--dtype",
        choices=("float32", "bfloat16"),
        default="float32",
        help="bfloat16: the fused model with bf16 GEMMs on CPUs with native bf16 (~1.4x faster, output within "
        "bf16 rounding of float32's; float32 with a warning on other CPUs)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    parser.set_defaults(handler=run_extract)


def load_pipeline(model=None, dtype: str = "float32"):
    """The target-sound-extraction pipeline for a model folder / Hub id (default: embedded checkpoint).
    The package's own classes are used, so no remote code is executed. `dtype="bfloat16"`: the
    fused model with bf16 GEMMs (`optimize_for_inference(dtype=...)`) on the float32 weights as
    loaded (`pipeline(dtype=...)` would load them rounded to bf16)."""
    from transformers import pipeline
    from transformers.utils import logging

    from modeling_qrtse.pipeline_qrtse import TASK, TargetSoundExtractionPipeline

    logging.disable_progress_bar()  # keep the command's output to what it found
    source, _ = qrtse_config(model)
    with loading(source):
        extractor = pipeline(TASK, model=source, pipeline_class=TargetSoundExtractionPipeline)
    if dtype != "float32":
        extractor.model = extractor.model.optimize_for_inference(dtype=dtype)
    return extractor


def extraction_options(args) -> dict:
    options = {"refinement": args.refinement, "refine": not args.no_refine, "return_residual": args.residual}
    if args.threshold is not None:
        options["threshold"] = args.threshold
    if args.oracle is not None:
        options["oracle_classes"] = args.oracle
    if args.chunk_length is not None:
        options["chunk_length_s"] = args.chunk_length
    if args.frame_smoothing:
        if args.refinement != "frame":
            raise ValueError("--frame-smoothing needs --refinement frame")
        options["frame_smoothing"] = parse_frame_smoothing(args.frame_smoothing)
    if args.keep_rate:
        options["output_sampling_rate"] = "input"
    return options


def parse_frame_smoothing(items: list) -> dict:
    """`["pad_s=0.3", ...]` -> `{"pad_s": 0.3, ...}`; the pipeline merges it over the model's
    values and checks it."""
    values = {}
    for item in items:
        name, separator, value = item.partition("=")
        if not separator:
            raise ValueError(f"--frame-smoothing takes NAME=SECONDS, got {item!r}")
        try:
            values[name] = None if value == "none" else float(value)
        except ValueError as error:
            raise ValueError(f"--frame-smoothing {name}: {value!r} is not a number") from error
    return values


def run_extract(args) -> int:
    if bool(args.mixture) == (args.example is not None):
        raise ValueError("give either MIXTURE files or --example")
    example = example_mixture(args.example) if args.example is not None else None
    if not args.query and example is None:
        raise ValueError("give the classes to extract with --query (see `qrtse classes`)")
    queries = args.query or [list(example.query)]
    # Every output is checked before the model is even loaded: nothing runs for an output we cannot write.
    report, example_path = None, None
    if is_folder_run(args.mixture):
        output_dir = args.output or "extracted"
        extractions, report = plan_folder(args.mixture, output_dir, len(queries), args.residual, args.overwrite)
    else:
        output = Path(args.output or "extracted.wav")
        source = args.mixture[0] if args.mixture else None
        if example is not None:  # its mixture is written next to the output, to listen to
            example_path = output.with_name(f"{output.stem}_mixture{output.suffix}")
            source = dict(zip(("array", "sampling_rate"), example.load()))
        also = [example_path] if example_path else []
        extractions = plan_file(source, output, len(queries), args.residual, args.overwrite, also_written=also)
    options = extraction_options(args)
    extractor = load_pipeline(args.model, args.dtype)
    extractor.processor.encode_query(queries)  # bad labels fail before any work
    settings = None if report is None else extraction_settings(extractor.model, queries, options, args.dtype)
    if example_path:
        write_audio(example_path, source["array"], source["sampling_rate"])
    outcomes = run_extractions(extractor, extractions, queries, options, args.overwrite, report, settings, args.json)
    if outcomes is None:  # another process of a multi-process launch: the main one reports
        return 0
    if report is not None:
        return print_folder_summary(outcomes, report, args.json)
    if outcomes[0].status == "failed":
        raise ValueError(outcomes[0].error)
    mixture_name = str(example_path) if example_path else args.mixture[0]
    print_file_summary(outcomes[0], mixture_name, example, extractor.model.config, args)
    return 0
