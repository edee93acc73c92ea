"""Choose the refinement threshold theta on the validation split (never on test) and store it
as the model's default (`config.refinement_threshold`).

    python -m qrtse.training.evaluate --model proposed=runs/small-proposed/best --split validation \
        --data-dir data/builtin --output-dir results/validation
    python -m qrtse.training.select threshold results/validation/results.json --system proposed \
        --model runs/small-proposed/best

Criterion (`--criterion`): the theta with the highest mean CA-SDRi (default) or SNRi over FMQ
(1:0) and the PMQ sweep (1:1 ... 1:5), i.e. over every query condition with an active target.
CA-SDRi scores a dropped target or a kept absent class as 0 dB; plain SNRi does not punish a
dropped target, because an all-silent output already gains about 6 dB SNRi on these mixtures,
so SNRi alone favours thresholds that drop targets. Ties go to the smaller
theta (fewer false negatives, Section 3.2). Given several validation results (e.g. the
built-in and the real-recordings validation splits), the criterion is their mean. The candidates are the thresholds the validation
run evaluated (`qrtse.training.evaluate --thresholds`; default the paper's 0 ... 0.2). The embedded
default model was chosen over 0 ... 0.2 plus 0.3, 0.4 and 0.5: a classifier trained for a few
thousand steps is less confident than the paper's, so its best theta can lie above 0.2.
"""

import argparse
import json
from pathlib import Path

from .config_file import set_config_keys
from .scoring import SWEEP_CONDITIONS


def choose_threshold(system_results: dict, thresholds, criterion_name: str = "snri") -> tuple:
    """(best theta, {theta: criterion}) from one system's entry in results.json."""
    scores = system_results["ca_sdri" if criterion_name == "ca_sdri" else "scores"]
    criterion = {
        theta: sum(scores[f"{c.name}|{theta}"] for c in SWEEP_CONDITIONS) / len(SWEEP_CONDITIONS)
        for theta in sorted(thresholds)
    }
    best = max(criterion, key=lambda theta: (round(criterion[theta], 6), -theta))
    return best, criterion


def criterion_over_splits(results_per_split: list, system: str, criterion_name: str = "ca_sdri") -> tuple:
    """(best theta, {theta: criterion averaged over the splits}) from results.json dictionaries
    of validation splits; thresholds that every split evaluated."""
    per_split = []
    for results in results_per_split:
        if results["split"] != "validation":
            raise ValueError(f"theta must be chosen on the validation split, got results for {results['split']!r}")
        per_split.append(choose_threshold(results["systems"][system], results["thresholds"], criterion_name)[1])
    common = sorted(set.intersection(*(set(c) for c in per_split)))
    criterion = {theta: sum(c[theta] for c in per_split) / len(per_split) for theta in common}
    best = max(criterion, key=lambda theta: (round(criterion[theta], 6), -theta))
    return best, criterion


def main(argv=None, prog=None) -> float:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("results", nargs="+", help="results.json of qrtse.training.evaluate on validation split(s)")
    parser.add_argument("--system", default="proposed")
    parser.add_argument("--criterion", default="ca_sdri", choices=["ca_sdri", "snri"])
    parser.add_argument("--model", help="model folder whose config.json gets the chosen threshold")
    args = parser.parse_args(argv)
    best, criterion = criterion_over_splits(
        [json.loads(Path(path).read_text()) for path in args.results], args.system, args.criterion
    )
    for theta, value in criterion.items():
        print(
            f"theta = {theta:.2f}: mean {args.criterion} over 1:0 ... 1:5 = {value:.2f} dB{'  <- chosen' if theta == best else ''}"
        )
    if args.model:
        set_config_keys(args.model, refinement_threshold=best)
    return best


if __name__ == "__main__":
    main()
