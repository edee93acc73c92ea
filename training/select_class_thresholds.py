"""Would one refinement threshold per class beat one theta for all? Fit them on the validation
splits (never on test) and measure the gain honestly, on held-out validation mixtures.

    python -m qrtse.training.select class-thresholds --model modeling_qrtse/default_model \
        --data-dir data/builtin --data-dir data/real --json results/class-thresholds/v2.json

`--write` stores the fitted thresholds in the model's `config.json` (`class_thresholds`, one
theta per class, and `refinement_threshold` = the global theta for classes too rare to fit);
the pipeline, CLI, ONNX export and Space then use them by default. Whether that is worth
shipping is the held-out estimate's call: for the shipped model the gain was within the noise
of the split (README), so its config keeps one theta.

Why per class: a classifier trained on few real clips is confident on some classes (p ~ 0.9
for a flute) and timid on others (p ~ 0.2 for a present bark); one theta either drops the
timid classes' targets or keeps the confident classes' absent queries.

Criterion: the one `qrtse.training.select_threshold` uses, mean CA-SDRi over FMQ (1:0) and the PMQ
sweep (1:1 ... 1:5), with each split weighted equally. It needs no extraction per candidate:
with one active queried class t and absent queried classes A, CA-SDRi is
`[p_t >= theta_t] * SNRi(t) / (1 + #{a in A : p_a >= theta_a})`, where SNRi(t) is the 1:0
extraction's SNRi (refinement either keeps the one-class query unchanged or drops it). So each
validation mixture is analysed and extracted once, with exactly the queries `qrtse.training.evaluate`
draws (same seed), and thresholds are fitted by coordinate ascent over `--grid`, starting from
the best global theta; ties go to the smaller theta (fewer false negatives, Section 3.2). A
class drawn as the target of fewer than `--min-targets` validation mixtures keeps the global
theta: too few examples to fit its own.

`--folds K` also reports an honest estimate of the gain: thresholds fitted on K-1 folds of the
mixtures are scored on the held-out fold, against the global theta fitted the same way.
"""

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from modeling_qrtse import QrtseModel

from .config_file import set_config_keys
from .data_loading import class_names, frozen_examples
from .metrics import snr_improvement
from .query_conditions import make_query, target_from_stems
from .scoring import SWEEP_CONDITIONS, to_model_labels

DEFAULT_GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7)


@dataclass
class ValidationDecisions:
    """What the criterion needs of each validation mixture: clip probabilities `(M, C)`, the
    1:0 target class `(M,)`, its SNRi at theta = 0 `(M,)`, the absent classes queried by each
    1:n condition (`inactive[n]`: `(M, C)` 0/1), and the split each mixture came from `(M,)`."""

    probabilities: np.ndarray
    target: np.ndarray
    snri: np.ndarray
    inactive: dict
    split: np.ndarray

    def subset(self, rows: np.ndarray) -> "ValidationDecisions":
        return ValidationDecisions(
            self.probabilities[rows],
            self.target[rows],
            self.snri[rows],
            {n: queried[rows] for n, queried in self.inactive.items()},
            self.split[rows],
        )

    @staticmethod
    def concatenate(parts) -> "ValidationDecisions":
        return ValidationDecisions(
            np.concatenate([p.probabilities for p in parts]),
            np.concatenate([p.target for p in parts]),
            np.concatenate([p.snri for p in parts]),
            {n: np.concatenate([p.inactive[n] for p in parts]) for n in parts[0].inactive},
            np.concatenate([p.split for p in parts]),
        )


@torch.inference_mode()
def collect_decisions(model, examples, dataset_labels, split_index: int, seed: int = 0, progress=None):
    """Analyse and extract (1:0 at theta = 0) every mixture, drawing queries exactly as
    `qrtse.training.scoring.evaluate_model` does with the same `seed`."""
    model_labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    rows = {"probabilities": [], "target": [], "snri": [], "inactive": {c.n_inactive: [] for c in SWEEP_CONDITIONS}}
    for index, example in enumerate(examples):
        if list(dataset_labels) != model_labels:
            example = to_model_labels(example, dataset_labels, model_labels)
            if example is None:
                continue
        presence = np.asarray(example["presence"], dtype=np.float32)
        mixture = torch.from_numpy(example["mixture"])[None]
        analysis = model.analyze(mixture)
        fmq = make_query(presence, 1, 0, np.random.default_rng([seed, index]))
        target = torch.from_numpy(target_from_stems(example["stems"], example["stem_labels"], fmq.target_classes))
        estimate = model.extract(analysis, torch.as_tensor(fmq.query)[None, None])[0, 0]
        rows["probabilities"].append(analysis.clip_probabilities[0].numpy())
        rows["target"].append(int(np.flatnonzero(fmq.query)[0]))
        rows["snri"].append(float(snr_improvement(estimate, target, mixture[0])))
        for condition in SWEEP_CONDITIONS:
            drawn = make_query(presence, 1, condition.n_inactive, np.random.default_rng([seed, index]))
            rows["inactive"][condition.n_inactive].append(drawn.query * (presence == 0))
        if progress is not None:
            progress.update(1)
    return ValidationDecisions(
        np.stack(rows["probabilities"]),
        np.asarray(rows["target"]),
        np.asarray(rows["snri"]),
        {n: np.stack(queried) for n, queried in rows["inactive"].items()},
        np.full(len(rows["target"]), split_index),
    )


def sweep_ca_sdri(decisions: ValidationDecisions, thresholds: np.ndarray) -> float:
    """Mean CA-SDRi over the 1:0 ... 1:5 conditions at per-class `thresholds` `(C,)`, each
    split weighted equally (see module docstring)."""
    kept = decisions.probabilities >= thresholds
    rows = np.arange(len(decisions.target))
    gain = kept[rows, decisions.target] * decisions.snri
    per_condition = [gain / (1.0 + (kept * queried).sum(1)) for queried in decisions.inactive.values()]
    per_mixture = np.mean(per_condition, axis=0)
    return float(np.mean([per_mixture[decisions.split == s].mean() for s in np.unique(decisions.split)]))


def best_global_threshold(decisions: ValidationDecisions, grid) -> float:
    classes = decisions.probabilities.shape[1]
    scores = {theta: sweep_ca_sdri(decisions, np.full(classes, theta)) for theta in sorted(grid)}
    return max(scores, key=lambda theta: (round(scores[theta], 6), -theta))


def fit_class_thresholds(decisions: ValidationDecisions, grid, min_targets: int, passes: int = 3):
    """(global theta, per-class thresholds `(C,)`) by coordinate ascent from the global theta."""
    grid = sorted(grid)
    global_theta = best_global_threshold(decisions, grid)
    classes = decisions.probabilities.shape[1]
    thresholds = np.full(classes, global_theta)
    fitted = np.bincount(decisions.target, minlength=classes) >= min_targets
    for _ in range(passes):
        changed = False
        for c in np.flatnonzero(fitted):
            scores = {}
            for theta in grid:
                trial = thresholds.copy()
                trial[c] = theta
                scores[theta] = sweep_ca_sdri(decisions, trial)
            best = max(scores, key=lambda theta: (round(scores[theta], 6), -theta))
            changed |= best != thresholds[c]
            thresholds[c] = best
        if not changed:
            break
    return global_theta, thresholds


def cross_validate(decisions: ValidationDecisions, grid, min_targets: int, folds: int, seed: int = 0) -> dict:
    """Held-out mean CA-SDRi of per-class vs global thresholds, each fitted on the other folds."""
    order = np.random.default_rng(seed).permutation(len(decisions.target))
    held_out = {"global": [], "per_class": []}
    for fold in np.array_split(order, folds):
        train = decisions.subset(np.setdiff1d(order, fold))
        global_theta, thresholds = fit_class_thresholds(train, grid, min_targets)
        test = decisions.subset(fold)
        held_out["global"].append(sweep_ca_sdri(test, np.full(len(thresholds), global_theta)))
        held_out["per_class"].append(sweep_ca_sdri(test, thresholds))
    return {name: float(np.mean(values)) for name, values in held_out.items()}


def main(argv=None, prog=None) -> dict:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="model folder")
    parser.add_argument("--data-dir", action="append", required=True, help="a build whose validation split is used")
    parser.add_argument("--num-mixtures", type=int, default=None, help="first N validation mixtures of each build")
    parser.add_argument("--grid", type=float, nargs="+", default=list(DEFAULT_GRID))
    parser.add_argument("--min-targets", type=int, default=10)
    parser.add_argument(
        "--folds", type=int, default=2, help="cross-validation folds for the held-out estimate (0: none)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the query seed of qrtse.training.evaluate")
    parser.add_argument("--num-threads", type=int, default=None)
    parser.add_argument("--json", help="write the report (thresholds, criteria, held-out estimate) here")
    parser.add_argument(
        "--write", action="store_true", help="store the fitted thresholds in the model's config.json (class_thresholds)"
    )
    parser.add_argument("--cv-seeds", type=int, default=3, help="fold assignments averaged in the held-out estimate")
    args = parser.parse_args(argv)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    if any(not 0.0 <= theta <= 1.0 for theta in args.grid):
        raise SystemExit(f"--grid values must lie in [0, 1], got {args.grid}")
    model = QrtseModel.from_pretrained(args.model).eval()
    if model.classifier is None:
        raise SystemExit(f"{args.model} has no classifier: there is nothing to threshold")
    runner = model.optimize_for_inference()
    parts = []
    for split_index, data_dir in enumerate(args.data_dir):
        with tqdm(desc=f"{data_dir} validation", total=args.num_mixtures) as bar:
            examples = frozen_examples(data_dir, "validation", limit=args.num_mixtures)
            parts.append(collect_decisions(runner, examples, class_names(data_dir), split_index, args.seed, bar))
    decisions = ValidationDecisions.concatenate(parts)
    global_theta, thresholds = fit_class_thresholds(decisions, args.grid, args.min_targets)
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    report = {
        "global_threshold": global_theta,
        "refinement_thresholds": {label: float(theta) for label, theta in zip(labels, thresholds)},
        "criterion_global": sweep_ca_sdri(decisions, np.full(len(labels), global_theta)),
        "criterion_per_class": sweep_ca_sdri(decisions, thresholds),
        "num_mixtures": {data_dir: int((decisions.split == i).sum()) for i, data_dir in enumerate(args.data_dir)},
        "targets_per_class": dict(zip(labels, np.bincount(decisions.target, minlength=len(labels)).tolist())),
    }
    if args.folds > 1:
        runs = [
            cross_validate(decisions, args.grid, args.min_targets, args.folds, seed) for seed in range(args.cv_seeds)
        ]
        report["cross_validated"] = {
            name: float(np.mean([run[name] for run in runs])) for name in ("global", "per_class")
        } | {"per_seed": runs}
    print(f"global theta = {global_theta:.2f}: mean CA-SDRi over 1:0 ... 1:5 = {report['criterion_global']:.2f} dB")
    print(f"per-class thresholds: {report['criterion_per_class']:.2f} dB (fitted and scored on the same mixtures)")
    if "cross_validated" in report:
        cv = report["cross_validated"]
        print(
            f"held out ({args.folds} folds, {args.cv_seeds} fold assignments): global {cv['global']:.2f} dB, "
            f"per class {cv['per_class']:.2f} dB"
        )
    for label, theta in report["refinement_thresholds"].items():
        print(f"  {label:24s} theta = {theta:.2f}  ({report['targets_per_class'][label]} validation targets)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if args.write:
        set_config_keys(args.model, refinement_threshold=global_theta, class_thresholds=report["refinement_thresholds"])
        print(f"wrote class_thresholds to {Path(args.model) / 'config.json'}")
    return report


if __name__ == "__main__":
    main()
