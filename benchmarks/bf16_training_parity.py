"""Quality parity of bf16 training (issue 28 (a)): the shipped model continued for the same steps
in float32 and in bfloat16 (same seed, data, recipe and schedule), both final models on the
same validation mixtures.

    python -m benchmarks.bf16_training_parity --steps 2000 --num-threads 1 \
        --json results/benchmarks/bf16-training-parity.json

Each run is the default-model stage recipe (`qrtse.training.continue_default_model`) with a
fixed step count; a finished run is not retrained. Reported per precision and validation split:
FMQ SNRi at theta = 0, macro-F1 and CA-SDRi (1:0) at the shipped theta, the silent baseline, and
the run's seconds per step.
"""

import argparse
import json
from pathlib import Path

from modeling_qrtse.default_checkpoint import default_model_path
from qrtse.training import train
from qrtse.training.continue_default_model import stage_arguments, validation_results

PRECISIONS = ("no", "bf16")
SPLITS = ("builtin", "real")


def train_run(precision: str, args, run_dir: Path) -> dict:
    if (run_dir / "summary.json").exists() and (run_dir / "final").exists():
        return json.loads((run_dir / "summary.json").read_text())
    recipe = argparse.Namespace(
        data_dir=args.data_dir,
        learning_rate=None,
        seed=args.seed,
        num_threads=args.num_threads,
        mixed_precision=precision,
    )
    argv = stage_arguments(Path(args.shipped), recipe, run_dir, args.steps)
    return train.main(argv + ["--max_steps", str(args.steps)])


def validation(name: str, model: Path, split: str, args, output_dir: Path) -> dict:
    """The stage judge's validation table of `model` (`continue_default_model.validation_results`),
    reduced to the figures this comparison reports."""
    judge_args = argparse.Namespace(
        data_root=args.data_root, num_mixtures=args.num_mixtures, eval_threads=args.num_threads
    )
    system = validation_results(name, model, split, judge_args, output_dir)["systems"][name]
    return {
        "fmq_snri_theta0": system["scores"]["1:0|0.0"],
        "macro_f1": system["macro_f1"][str(args.theta)],
        "ca_sdri_1to0": system["ca_sdri"][f"1:0|{args.theta}"],
        "silence_snri": system["silence_snri"]["1:0"],
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--num-threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=28)
    parser.add_argument("--shipped", default=str(default_model_path()))
    parser.add_argument(
        "--theta", type=float, default=0.3, help="the shipped theta (v4, v5: 0.3); one of the stage judge's grid"
    )
    parser.add_argument("--data-dir", default="data/builtin-real")
    parser.add_argument("--data-root", default="data", help="holds builtin/ and real/ builds")
    parser.add_argument("--num-mixtures", type=int, default=300, help="per validation split")
    parser.add_argument("--runs-dir", default="runs/bf16-training-parity")
    parser.add_argument("--json", help="write the summary here")
    args = parser.parse_args(argv)
    runs = Path(args.runs_dir)
    summary = {"steps": args.steps, "seed": args.seed, "shipped": args.shipped, "theta": args.theta, "runs": {}}
    for precision in PRECISIONS:
        trained = train_run(precision, args, runs / precision)
        summary["runs"][precision] = {
            "median_step_seconds": trained.get("median_step_seconds"),
            "step": trained.get("step"),
            **{split: validation(precision, runs / precision / "final", split, args, runs) for split in SPLITS},
        }
    for split in SPLITS:
        for metric in ("fmq_snri_theta0", "macro_f1", "ca_sdri_1to0"):
            difference = summary["runs"]["bf16"][split][metric] - summary["runs"]["no"][split][metric]
            print(
                f"{split} {metric}: float32 {summary['runs']['no'][split][metric]:.3f}, "
                f"bf16 {summary['runs']['bf16'][split][metric]:.3f} (bf16 - float32 {difference:+.3f})"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    main()
