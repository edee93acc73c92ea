"""One command for the paper's Table 1 and Fig. 3 on a frozen split.

    python -m qrtse.training.evaluate --model proposed=runs/small-proposed/best \
        --model baseline1=runs/small-baseline1/best --model baseline2=runs/small-baseline2/best \
        --data-dir data/builtin --split test --output-dir results/builtin

Writes `results.json`, `results.md` (Table 1 and the Fig. 3 sweep as markdown) and
`fig3_sweep.png`. With `--intra-clip` (on a build made with `--duration_s 20`) it compares
refinement in time instead: file vs chunk vs frame vs oracle-frame refinement, scored on the
regions where queried classes sound and where none does (`qrtse.training.intra_clip_scoring`),
written as `intra_clip.json`, `intra_clip.md` and `intra_clip.png`.

    python -m qrtse.training.evaluate --intra-clip --model proposed=modeling_qrtse/default_model \
        --data-dir data/intra-clip --split test --output-dir results/frame-refinement
"""

import argparse
import json
from pathlib import Path

from tqdm.auto import tqdm

from modeling_qrtse import QrtseModel
from modeling_qrtse.summary import count_parameters, macs_per_second

from .data_loading import class_names, frozen_examples
from .intra_clip_report import intra_clip_markdown, plot_intra_clip
from .intra_clip_scoring import evaluate_intra_clip
from .report import plot_sweep, results_markdown
from .scoring import ORACLE, PAPER_THRESHOLDS, SWEEP_CONDITIONS, TABLE_CONDITIONS, evaluate_model


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH", help="a system to evaluate")
    parser.add_argument(
        "--merge",
        nargs="+",
        default=[],
        metavar="RESULTS_JSON",
        help="instead of evaluating, combine results.json files of the same split and seed (systems run in parallel)",
    )
    parser.add_argument("--data-dir", help="output folder of qrtse.training.build_dataset")
    parser.add_argument("--split", default="test", choices=["validation", "test"])
    parser.add_argument("--num-mixtures", type=int, default=None, help="first N mixtures (default: all)")
    parser.add_argument("--thresholds", type=float, nargs="+", default=list(PAPER_THRESHOLDS))
    parser.add_argument("--seed", type=int, default=0, help="seeds the inactive classes added to queries")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--num-threads", type=int, default=None)
    parser.add_argument(
        "--intra-clip",
        action="store_true",
        help="compare refinement in time (file / chunk / frame / oracle-frame) on intra-clip mixtures (one model)",
    )
    parser.add_argument(
        "--reference-path",
        action="store_true",
        help="run the eager modules instead of optimize_for_inference() (same outputs to ~1e-7, 2-5x slower)",
    )
    return parser.parse_args(argv)


def evaluate_system(path: str, args) -> dict:
    model = QrtseModel.from_pretrained(path).eval()
    runner = model if args.reference_path else model.optimize_for_inference()
    examples = frozen_examples(args.data_dir, args.split, limit=args.num_mixtures)
    with tqdm(desc=Path(path).name, total=args.num_mixtures) as bar:
        summary = evaluate_model(
            runner,
            examples,
            TABLE_CONDITIONS + SWEEP_CONDITIONS,
            tuple(args.thresholds),
            args.seed,
            progress=bar,
            dataset_labels=class_names(args.data_dir),
        )
    summary["parameters_m"] = count_parameters(model) / 1e6
    summary["gmacs_per_second"] = macs_per_second(model) / 1e9
    summary["has_classifier"] = model.classifier is not None
    summary["refinement_threshold"] = model.config.refinement_threshold
    summary["silence_empty_query"] = model.config.silence_empty_query
    return summary


MERGE_PROTOCOL = ("split", "data_dir", "seed", "thresholds")


def merge_results(paths) -> dict:
    """One results dictionary from several evaluated with the same protocol."""
    merged = None
    for path in paths:
        results = json.loads(Path(path).read_text())
        if merged is None:
            merged = {**results, "systems": {}}
        if any(results[key] != merged[key] for key in MERGE_PROTOCOL):
            raise ValueError(f"{path} was evaluated with a different {MERGE_PROTOCOL}; cannot merge")
        merged["systems"].update(results["systems"])
    return merged


def evaluate_intra_clip_command(args) -> dict:
    """`--intra-clip`: one model, the settings of `qrtse.training.intra_clip_scoring`."""
    if len(args.model) != 1 or not args.data_dir:
        raise SystemExit("qrtse.training.evaluate --intra-clip: give one --model NAME=PATH and --data-dir")
    name, path = args.model[0].split("=", 1)
    model = QrtseModel.from_pretrained(path).eval()
    if model.classifier is None:
        raise SystemExit(f"{path} has no classifier: refinement in time needs one")
    runner = model if args.reference_path else model.optimize_for_inference()
    examples = frozen_examples(args.data_dir, args.split, limit=args.num_mixtures)
    with tqdm(desc=name, total=args.num_mixtures) as bar:
        summary = evaluate_intra_clip(runner, examples, class_names(args.data_dir), seed=args.seed, progress=bar)
    results = {
        "split": args.split,
        "data_dir": args.data_dir,
        "seed": args.seed,
        "system": name,
        "path": path,
        **summary,
    }
    write_results(args.output_dir, "intra_clip", results, intra_clip_markdown(results), plot_intra_clip)
    return results


def write_results(output_dir, name: str, results: dict, markdown: str, plot, plot_name: str | None = None) -> None:
    """`name`.json, `name`.md (also printed) and the plot (`plot_name`, default `name`.png)."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / f"{name}.json").write_text(json.dumps(results, indent=2))
    (output_dir / f"{name}.md").write_text(markdown)
    plot(results, output_dir / (plot_name or f"{name}.png"))
    print(markdown)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.num_threads:
        import torch

        torch.set_num_threads(args.num_threads)
    if args.intra_clip:
        return evaluate_intra_clip_command(args)
    if args.merge:
        results = merge_results(args.merge)
    else:
        if not args.model or not args.data_dir:
            raise SystemExit("qrtse.training.evaluate: give --model NAME=PATH (one or more) and --data-dir, or --merge")
        systems = dict(item.split("=", 1) for item in args.model)
        results = {
            "split": args.split,
            "data_dir": args.data_dir,
            "seed": args.seed,
            "thresholds": args.thresholds,
            "oracle": ORACLE,
            "num_mixtures": args.num_mixtures,
            "systems": {name: evaluate_system(path, args) | {"path": path} for name, path in systems.items()},
        }
    write_results(args.output_dir, "results", results, results_markdown(results), plot_sweep, "fig3_sweep.png")
    return results


if __name__ == "__main__":
    main()
