"""`qrtse extract` and `qrtse classes`: the pipeline from the command line."""

import glob
import json
from pathlib import Path

from .cli_batch import extract_targets, run_batch
from .cli_models import loading, qrtse_config
from .cli_output_files import check_output_paths, write_audio
from .example_mixtures import example_mixture


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
        "patterns extract them all into the folder -o (resumable; see `modeling_qrtse.cli_batch`)",
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
        choices=("file", "chunk", "frame"),
        default="file",
        help="decide the refined query once per file (default), per chunk of --chunk-length seconds, or per "
        "frame (each queried class kept only where the classifier hears it; see --frame-smoothing)",
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


def add_classes_command(subparsers) -> None:
    parser = subparsers.add_parser("classes", help="list the classes a model can extract")
    parser.add_argument("--model", help="saved model folder or Hub id (default: the embedded checkpoint)")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.set_defaults(handler=run_classes)


def load_pipeline(model=None, dtype: str = "float32"):
    """The target-sound-extraction pipeline for a model folder / Hub id (default: embedded checkpoint).
    The package's own classes are used, so no remote code is executed. `dtype="bfloat16"`: the
    fused model with bf16 GEMMs (`optimize_for_inference(dtype=...)`) on the float32 weights as
    loaded (`pipeline(dtype=...)` would load them rounded to bf16)."""
    from transformers import pipeline
    from transformers.utils import logging

    from .pipeline_qrtse import TASK, TargetSoundExtractionPipeline

    logging.disable_progress_bar()  # keep the command's output to what it found
    source, _ = qrtse_config(model)
    with loading(source):
        extractor = pipeline(TASK, model=source, pipeline_class=TargetSoundExtractionPipeline)
    if dtype != "float32":
        extractor.model = extractor.model.optimize_for_inference(dtype=dtype)
    return extractor


def output_paths(output: str, count: int) -> list:
    path = Path(output)
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}_{k + 1}{path.suffix}") for k in range(count)]


def is_batch(mixtures: list) -> bool:
    """Several inputs, a folder or a pattern: extraction into a folder (`cli_batch`)."""
    return len(mixtures) > 1 or any(Path(m).is_dir() or glob.has_magic(m) for m in mixtures)


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
    batch = is_batch(args.mixture)
    # Outputs are checked before the model is even loaded: nothing runs for an output we cannot write.
    if batch:
        args.output = args.output or "extracted"
        if Path(args.output).exists() and not Path(args.output).is_dir():
            raise ValueError(f"-o {args.output} must be a folder when extracting several files")
    else:
        args.output = args.output or "extracted.wav"
        inputs = args.mixture[0] if args.mixture else None
        mixture_path, example_path = inputs, None
        paths = output_paths(args.output, len(queries))
        residual_paths = [p.with_name(f"{p.stem}_residual{p.suffix}") for p in paths] if args.residual else []
        if example is not None:
            output = Path(args.output)
            example_path = output.with_name(f"{output.stem}_mixture{output.suffix}")
        written = paths + residual_paths + ([example_path] if example_path else [])
        check_output_paths(written, [mixture_path], args.overwrite)
    options = extraction_options(args)
    extractor = load_pipeline(args.model, args.dtype)
    extractor.processor.encode_query(queries)  # bad labels fail before any work
    if batch:
        return run_batch(args, extractor, queries, options)
    if example is not None:
        mixture, rate = example.load()
        inputs = {"array": mixture, "sampling_rate": rate}
        write_audio(example_path, mixture, rate)
    try:
        results = extract_targets(extractor, inputs, queries, options)
    except OSError as error:  # a missing file: report it like any other bad input
        raise ValueError(str(error)) from error
    for result, path in zip(results, paths):
        write_audio(path, result["audio"], result["sampling_rate"])
    for result, path in zip(results, residual_paths):
        write_audio(path, result["residual"], result["sampling_rate"])

    summary = {
        "mixture": str(example_path or mixture_path),
        "example_classes": list(example.present) if example is not None else None,
        "threshold": None if args.no_refine else summary_threshold(extractor.model.config, args.threshold),
        "class_probabilities": results[0]["class_probabilities"],
        "targets": [
            {
                "query": r["query"],
                "refined_query": r["refined_query"],
                "chunks": r.get("chunks"),
                "segments": r.get("segments"),
                "output": str(p),
                "sampling_rate": r["sampling_rate"],
            }
            for r, p in zip(results, paths)
        ],
    }
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary, results))
    return 0


def summary_threshold(config, threshold: float | None) -> float | dict:
    """theta as the run used it: the one given, else the model's (`{class: theta}` where the
    model has per-class thresholds)."""
    from .refinement_qrtse import class_threshold_map

    if threshold is not None:
        return threshold
    return class_threshold_map(config) or config.refinement_threshold


def format_summary(summary: dict, results: list, top: int = 5) -> str:
    lines = [f"mixture: {summary['mixture']}"]
    if summary["example_classes"]:
        lines.append(f"  (example of real recordings; present: {', '.join(summary['example_classes'])})")
    probabilities = summary["class_probabilities"]
    threshold = summary["threshold"]
    if probabilities is None:
        lines.append("detected classes: (this model has no classifier)")
    else:
        cutoff = threshold if threshold is not None else 0.5
        per_class = isinstance(cutoff, dict)
        detected = [(label, p) for label, p in probabilities.items() if p >= (cutoff[label] if per_class else cutoff)]
        rule = "each class's theta" if per_class else f"{cutoff:g}"
        lines.append(f"detected classes (p >= {rule}):" + ("" if detected else " none"))
        lines += [f"  {label:<24} {p:.3f}" for label, p in detected[:top]]
        if len(detected) > top:
            lines.append(f"  ... and {len(detected) - top} more")
    for target, result in zip(summary["targets"], results):
        lines.append("query:         " + ", ".join(target["query"]))
        removed = [label for label in target["query"] if label not in target["refined_query"]]
        refined = ", ".join(target["refined_query"]) or "(none: no queried class detected)"
        if removed and probabilities is not None:
            refined += "   removed: " + ", ".join(f"{label} (p = {probabilities[label]:.3f})" for label in removed)
        lines.append("refined query: " + refined)
        if summary["example_classes"]:
            lines.append("example check: " + example_verdict(target, summary["example_classes"]))
        for chunk in target["chunks"] or []:
            kept = ", ".join(chunk["refined_query"]) or "(none)"
            lines.append(f"  {chunk['start']:7.2f}-{chunk['end']:7.2f} s: {kept}")
        for label, segments in (target["segments"] or {}).items():
            spans = ", ".join(f"{start:.2f}-{end:.2f}" for start, end in segments) or "nowhere"
            lines.append(f"  {label} kept at {spans} s")
        seconds = len(result["audio"]) / target["sampling_rate"]
        lines.append(f"wrote {target['output']} ({seconds:.2f} s at {target['sampling_rate']} Hz)")
    return "\n".join(lines)


def example_verdict(target: dict, present) -> str:
    """What refinement did with each queried class of an example, against what is really there."""
    words, right = [], True
    for label in target["query"]:
        kept = label in target["refined_query"]
        truth = label in present
        right &= kept == truth
        words.append(f"{'kept' if kept else 'dropped'} {label} ({'present' if truth else 'absent'})")
    return ", ".join(words) + (": right" if right else ": wrong")


def run_classes(args) -> int:
    _, config = qrtse_config(args.model)
    labels = [config.id2label[index] for index in sorted(config.id2label)]
    print(json.dumps(labels) if args.json else "\n".join(f"{index:3d}  {label}" for index, label in enumerate(labels)))
    return 0
