"""One bounded training stage of the default model: continue it, judge it on validation, ship it
only if it is better.

    python -m qrtse.training.continue_default_model --minutes 90 [--num_threads 1] [--mixed_precision bf16]

1. Train: the shipped model continues on `--data_dir` (default `data/builtin-real`) with the
   recipe of its newest stage (`default_model/training_args.json`: crop, augmentation, loss
   weights, peak learning rate) under a fresh warm-up + cosine schedule sized to the budget from
   a measured step time; `train --max_minutes` stops it at the budget in any case. The run lives
   in `runs/stages/NN`; a rerun of the same stage resumes it (a finished run is not retrained).
2. Judge on validation only: the run's validation-best checkpoint and the shipped model, each on
   the first `--num_mixtures` mixtures of the built-in and the real validation splits, every
   theta of the grid; the criterion is the one v3 was chosen by (mean CA-SDRi over 1:0 ... 1:5,
   averaged over the two splits, at each model's own best theta; `qrtse.training.select_threshold`).
3. Decide: ship when the candidate's criterion beats the shipped model's. Shipping exports the
   candidate (with its theta) as `modeling_qrtse/default_model` and re-pins the shipped-model
   guard. `results/stages/NN/` gets the arguments, the validation tables and `decision.json`
   either way.
"""

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from modeling_qrtse.default_checkpoint import default_model_path

from . import evaluate, train
from .config_file import set_config_keys
from .export_default_model import export
from .select_threshold import criterion_over_splits

THRESHOLD_GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
VALIDATION_SPLITS = ("builtin", "real")
PROBE_STEPS = 12
# Share of the budget kept for validation runs and checkpoints when sizing the schedule.
OVERHEAD_SHARE = 0.12
GUARD = Path(__file__).resolve().parents[1] / "tests" / "training" / "test_shipped_model_guard.py"


def next_stage(results_root: Path) -> int:
    """Stages are numbered after the eight that made v3 (stage 8 is v3's)."""
    done = [int(p.name) for p in results_root.glob("[0-9]*") if p.name.isdigit()]
    return max(done, default=8) + 1


def stage_arguments(shipped: Path, args, output_dir: Path, steps: int) -> list:
    """The shipped model's newest recipe as `qrtse.training.train` arguments, continued from it."""
    recipe = json.loads((shipped / "training_args.json").read_text())
    model, data, training = recipe["model"], recipe["data"], recipe["train"]
    steps_per_epoch = 100
    values = {
        "preset": model["preset"],
        "system": model["system"],
        "init_from": str(shipped),
        "classification_positive_weight": model.get("classification_positive_weight"),
        "data_dir": args.data_dir,
        "segment_seconds": data["segment_seconds"],
        "augment_probability": data.get("augment_probability", 0.0),
        "validation_mixtures": data["validation_mixtures"],
        "output_dir": str(output_dir),
        "epochs": max(1, math.ceil(steps / steps_per_epoch)),
        "steps_per_epoch": steps_per_epoch,
        "batch_size": training["batch_size"],
        "learning_rate": args.learning_rate or training["learning_rate"],
        "warmup_epochs": training["warmup_epochs"],
        "checkpoint_every": 200,
        "keep_checkpoints": 2,
        "evaluate_every": max(steps_per_epoch, round(steps / 4 / steps_per_epoch) * steps_per_epoch),
        "seed": args.seed,
        "num_threads": args.num_threads,
        "mixed_precision": args.mixed_precision,
    }
    argv = []
    for name, value in values.items():
        if value is not None:
            argv += [f"--{name}", str(value)]
    return argv


def measured_step_seconds(shipped: Path, args) -> float:
    """Median seconds of a training step (mixing included) over a few steps of the real recipe."""
    with tempfile.TemporaryDirectory() as scratch:
        argv = stage_arguments(shipped, args, Path(scratch), PROBE_STEPS)
        summary = train.main(argv + ["--max_steps", str(PROBE_STEPS), "--validation_mixtures", "1"])
    return summary["median_step_seconds"]


def train_stage(shipped: Path, args, run_dir: Path) -> dict:
    if (run_dir / "summary.json").exists() and (run_dir / "best").exists():
        print(f"{run_dir} has finished training: judging it")
        return json.loads((run_dir / "summary.json").read_text())
    plan = run_dir / "plan.json"
    if plan.exists():  # resuming: keep the schedule the run started with
        steps = json.loads(plan.read_text())["planned_steps"]
    else:
        seconds = measured_step_seconds(shipped, args)
        steps = max(100, int(args.minutes * 60 * (1 - OVERHEAD_SHARE) / seconds))
        run_dir.mkdir(parents=True, exist_ok=True)
        plan.write_text(json.dumps({"planned_steps": steps, "measured_step_seconds": seconds}, indent=2) + "\n")
        print(f"stage plan: {steps} steps at {seconds:.3f} s a step in {args.minutes} minutes")
    return train.main(stage_arguments(shipped, args, run_dir, steps) + ["--max_minutes", str(args.minutes)])


def validation_results(name: str, model: Path, split: str, args, output_dir: Path) -> dict:
    """results.json of one model on one validation split (reused when already written)."""
    path = output_dir / f"{name}-{split}-validation" / "results.json"
    if not path.exists():
        evaluate.main(
            ["--model", f"{name}={model}", "--data-dir", str(Path(args.data_root) / split), "--split", "validation"]
            + ["--num-mixtures", str(args.num_mixtures), "--output-dir", str(path.parent)]
            + ["--thresholds", *map(str, THRESHOLD_GRID)]
            + (["--num-threads", str(args.eval_threads)] if args.eval_threads else [])
        )
    return json.loads(path.read_text())


def judge(name: str, model: Path, args, output_dir: Path) -> dict:
    results = [validation_results(name, model, split, args, output_dir) for split in VALIDATION_SPLITS]
    theta, criterion = criterion_over_splits(results, name)
    return {"path": str(model), "theta": theta, "criterion": criterion[theta], "by_theta": criterion}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, required=True, help="training budget of this stage")
    parser.add_argument("--num_threads", "--num-threads", type=int, default=1)
    parser.add_argument("--eval_threads", "--eval-threads", type=int, default=None, help="default: torch's")
    parser.add_argument("--mixed_precision", "--mixed-precision", default="no", choices=["no", "bf16"])
    parser.add_argument("--learning_rate", "--learning-rate", type=float, default=None, help="default: the recipe's")
    parser.add_argument("--stage", type=int, default=None, help="default: the next after results/stages/")
    parser.add_argument("--seed", type=int, default=None, help="default: the stage number")
    parser.add_argument("--data_dir", "--data-dir", default="data/builtin-real")
    parser.add_argument("--data_root", "--data-root", default="data", help="holds builtin/ and real/ builds")
    parser.add_argument("--num_mixtures", "--num-mixtures", type=int, default=300, help="per validation split")
    parser.add_argument("--results_root", "--results-root", default="results/stages")
    parser.add_argument("--runs_root", "--runs-root", default="runs/stages")
    parser.add_argument("--shipped", default=str(default_model_path()))
    parser.add_argument("--no_ship", "--no-ship", action="store_true", help="judge, but never export")
    args = parser.parse_args(argv)
    if not Path(args.data_dir).is_dir():
        parser.error(f"{args.data_dir} is missing: build it first (README, 'Real recordings')")
    stage = args.stage or next_stage(Path(args.results_root))
    args.seed = stage if args.seed is None else args.seed
    shipped = Path(args.shipped)
    run_dir = Path(args.runs_root) / f"{stage:02d}"
    output_dir = Path(args.results_root) / f"{stage:02d}"

    summary = train_stage(shipped, args, run_dir)
    for split in VALIDATION_SPLITS:  # checked after training: a rerun skips the finished training
        if not (Path(args.data_root) / split).is_dir():
            parser.error(f"{Path(args.data_root) / split} is missing: build it, then rerun this command")
    output_dir.mkdir(parents=True, exist_ok=True)
    for name in ("training_args.json", "summary.json", "plan.json"):
        if (run_dir / name).exists():
            (output_dir / name).write_bytes((run_dir / name).read_bytes())
    shipped_score = judge("shipped", shipped, args, output_dir)
    candidate_score = judge("candidate", run_dir / "best", args, output_dir)
    ships = candidate_score["criterion"] > shipped_score["criterion"] and not args.no_ship
    decision = {
        "stage": stage,
        "rule": "ship when mean CA-SDRi over 1:0 ... 1:5 (built-in and real validation, each model at its "
        "own best theta) beats the shipped model's on the same mixtures",
        "training": summary,
        "shipped": shipped_score,
        "candidate": candidate_score,
        "shipped_candidate": ships,
    }
    (output_dir / "decision.json").write_text(json.dumps(decision, indent=2) + "\n")
    print(
        f"stage {stage}: candidate {candidate_score['criterion']:.2f} dB (theta {candidate_score['theta']}) vs "
        f"shipped {shipped_score['criterion']:.2f} dB (theta {shipped_score['theta']}): "
        + ("shipped as the default model" if ships else "not shipped")
    )
    if ships:
        set_config_keys(run_dir / "best", refinement_threshold=candidate_score["theta"])
        export(run_dir / "best", shipped)
        if shipped.resolve() == default_model_path().resolve() and GUARD.exists():
            # The package's own default model, in a checkout: its guard test pins its scores.
            subprocess.run([sys.executable, str(GUARD), "--pin"], check=True)
    return decision


if __name__ == "__main__":
    main()
