"""The README's summary tables, printed from the committed results files so that the two agree
(`tests/training/test_readme_tables.py` checks every row the README shows).

    python -m qrtse.training.readme_tables stages                       # "Bounded training stages"
    python -m qrtse.training.readme_tables shipped v10                  # "The embedded default model"
    python -m qrtse.training.readme_tables models v3 v4 v5 v6 v7 v8 v9   # "Earlier default models"
    python -m qrtse.training.readme_tables table1                       # "Table 1 at equal steps"

`stages` reads each finished stage's `results/stages/NN/` (arguments, summary, decision).
`shipped` and `models` read `results/default-vN/{builtin,real}-test/results.json` (what `evaluate` wrote for
each shipped model) and `results/example-statistic/vN-real.json`; a model's stage is the k-th
stage under `results/stages/` that shipped (v4 was the first). `table1` reads the merged
`results/table1-equal-steps/{builtin,real}-test/results.json` (`evaluate --merge`) and each
system's `{system}-training/` (the trainer's arguments and summary: its steps).
"""

import argparse
import json
from pathlib import Path

from .metrics import A_MIX_FLOOR_DB
from .report import format_score

SPLITS = ("builtin", "real")
FIRST_STAGE_PREDECESSOR, FIRST_STAGE_VERSION = "v3", 4  # stage 9 continued v3 and shipped v4
TRAINED_BEFORE_STAGES = {"v3": "v2 + 5000 steps (stage 8)"}
SILENCE_A_MIX = format_score(A_MIX_FLOOR_DB)  # an all-zero output's A_mix


def _only_system(results_dir: Path, version: str, split: str) -> dict:
    results = json.loads((results_dir / f"default-{version}/{split}-test/results.json").read_text())
    return next(iter(results["systems"].values()))


def _class_means(per_class: dict) -> tuple:
    """Mean recall over the classes present in some mixture, mean false-positive rate over those
    absent from some."""
    recalls = [row["recall"] for row in per_class.values() if row["present"]]
    rates = [row["false_positive_rate"] for row in per_class.values() if row["absent"]]
    return sum(recalls) / len(recalls), sum(rates) / len(rates)


def stage_history(results_dir: Path) -> list:
    """One dict per stage under `results/stages/`, in order: its arguments, summary and decision,
    the model it continued (`from`) and the version it shipped as (None when it did not ship)."""
    history, current, next_version = [], FIRST_STAGE_PREDECESSOR, FIRST_STAGE_VERSION
    for decision_path in sorted((results_dir / "stages").glob("*/decision.json")):  # finished stages
        stage_dir, decision = decision_path.parent, json.loads(decision_path.read_text())
        stage = {"stage": decision["stage"], "from": current, "version": None, "decision": decision}
        for name in ("training_args", "summary"):
            if (stage_dir / f"{name}.json").exists():
                stage[name] = json.loads((stage_dir / f"{name}.json").read_text())
        if decision["shipped_candidate"]:
            current = stage["version"] = f"v{next_version}"
            next_version += 1
        history.append(stage)
    return history


def shipped_stages(results_dir: Path) -> dict:
    """`{"v4": "stage 9", ...}`: the version each shipped stage made."""
    return {s["version"]: f"stage {s['stage']}" for s in stage_history(results_dir) if s["version"]}


STAGES_HEADER = "| stage | from | minutes | steps | validation criterion (candidate / shipped) | shipped |"


def stage_row(stage: dict) -> str:
    train, summary, decision = stage["training_args"]["train"], stage["summary"], stage["decision"]
    precision = "float32" if train["mixed_precision"] in (None, "no") else train["mixed_precision"]
    steps = f"{summary['step']} of {summary['planned_steps']}"
    if summary["stopped_by"] != "steps":
        steps += " (stopped by the budget)"
    candidate, shipped = decision["candidate"], decision["shipped"]
    criterion = (
        f"{candidate['criterion']:.2f} / {shipped['criterion']:.2f} dB"
        f" (theta {candidate['theta']:.2f} / {shipped['theta']:.2f})"
    )
    outcome = f"yes: {stage['version']}" if stage["version"] else "no"
    minutes = f"{train['max_minutes']:g} ({train['num_threads']} thread{'s' * (train['num_threads'] > 1)}, {precision})"
    return f"| {stage['stage']} | {stage['from']} | {minutes} | {steps} | {criterion} | {outcome} |"


def stages_table(results_dir: Path) -> list:
    return [STAGES_HEADER, "|---" * 6 + "|"] + [stage_row(stage) for stage in stage_history(results_dir)]


MODELS_HEADER = (
    "| version | trained by | theta | built-in FMQ SNRi (theta 0) | built-in CA-SDRi 1:0 / 1:3 | built-in macro-F1"
    " | built-in recall / FPR | real FMQ SNRi (theta 0) | real CA-SDRi 1:0 / 1:3 | real macro-F1"
    " | real recall / FPR | example statistic |"
)


def model_row(results_dir: Path, version: str, trained_by: str) -> str:
    """One shipped model's test scores at its own theta, both splits, and its example statistic."""
    cells = []
    for split in SPLITS:
        system = _only_system(results_dir, version, split)
        theta = str(system["refinement_threshold"])
        recall, false_positive_rate = _class_means(system["per_class"][theta])
        cells += [
            format_score(system["scores"]["1:0|0.0"]),
            f"{format_score(system['ca_sdri'][f'1:0|{theta}'])} / {format_score(system['ca_sdri'][f'1:3|{theta}'])}",
            format_score(system["macro_f1"][theta]),
            f"{format_score(recall)} / {format_score(false_positive_rate)}",
        ]
    statistic = json.loads((results_dir / f"example-statistic/{version}-real.json").read_text())
    cells.append(f"{statistic['summary']['correct'] * 100:.0f}%")
    return "| " + " | ".join([version, trained_by, format_score(system["refinement_threshold"]), *cells]) + " |"


def models_table(results_dir: Path, versions) -> list:
    trained_by = {**TRAINED_BEFORE_STAGES, **shipped_stages(results_dir)}
    lines = [MODELS_HEADER, "|---" * MODELS_HEADER.count(" | ") + "|---|"]
    return lines + [model_row(results_dir, version, trained_by[version]) for version in versions]


SHIPPED_HEADER = (
    "| Split | System | SNRi (1:0) | SNRi (1:1) | SNRi (1:3) | A_mix (0:1) | CA-SDRi (1:0) | CA-SDRi (1:1)"
    " | CA-SDRi (1:3) | output SNR (1:0) |"
)
SHIPPED_CONDITIONS = ("1:0", "1:1", "1:3")
SPLIT_NAMES = {"builtin": "built-in", "real": "real"}


def shipped_table(results_dir: Path, version: str) -> list:
    """The shipped model's test scores next to a silent output: at theta 0, at its own theta and
    with oracle refinement, on both splits."""
    lines = [SHIPPED_HEADER, "|---" * 10 + "|"]
    for split in SPLITS:
        system = _only_system(results_dir, version, split)
        silence = format_score(system["silence_snri"]["1:0"])
        theta = system["refinement_threshold"]
        lines.append(
            f"| {SPLIT_NAMES[split]} | all-silent output | {silence} | {silence} | {silence} | {SILENCE_A_MIX}"
            " | 0.00 | 0.00 | 0.00 | 0.00 |"
        )
        for label, setting in [
            ("theta = 0", "0.0"),
            (f"theta = {theta:g}, as shipped", str(theta)),
            ("oracle", "oracle"),
        ]:
            cells = [system["scores"][f"{c}|{setting}"] for c in SHIPPED_CONDITIONS]
            cells.append(system["scores"][f"0:1|{setting}"])
            cells += [system["ca_sdri"][f"{c}|{setting}"] for c in SHIPPED_CONDITIONS]
            cells.append(system["output_snr"][f"1:0|{setting}"])
            lines.append(
                f"| {SPLIT_NAMES[split]} | {version} ({label}) | " + " | ".join(format_score(c) for c in cells) + " |"
            )
    return lines


TABLE1_HEADER = (
    "| System | Steps | SNRi (1:0) | SNRi (1:1) | SNRi (1:3) | A_mix (0:1) | CA-SDRi (1:0) | CA-SDRi (1:3) | Macro F1 |"
)


def _training(results_dir: Path, name: str) -> tuple:
    """(arguments, summary) of a Table 1 system's training run."""
    folder = results_dir / f"table1-equal-steps/{name}-training"
    return tuple(json.loads((folder / f"{part}.json").read_text()) for part in ("training_args", "summary"))


def _table1_rows(results: dict, results_dir: Path):
    """(label, system name, setting) in the paper's order; Proposed at theta 0, at its validation
    theta, at the paper's largest (0.20) and with oracle refinement."""
    systems = results["systems"]
    if "baseline1" in systems:
        yield "Baseline 1", "baseline1", "0.0"
    if "baseline2" in systems:
        arguments, _ = _training(results_dir, "baseline2")
        start = arguments["data"]["inactive_start_epoch"] * arguments["train"]["steps_per_epoch"]
        yield f"Baseline 2 (inactive samples from step {start:g})", "baseline2", "0.0"
    if "proposed" in systems:
        theta = systems["proposed"]["refinement_threshold"]
        yield "Proposed (theta = 0)", "proposed", "0.0"
        yield f"Proposed (theta = {theta:.2f}, chosen on validation)", "proposed", str(theta)
        yield "Proposed (theta = 0.20, the paper's largest)", "proposed", "0.2"
        yield "Proposed (oracle refinement)", "proposed", results["oracle"]


def table1_table(results_dir: Path, split: str) -> list:
    results = json.loads((results_dir / f"table1-equal-steps/{split}-test/results.json").read_text())
    lines = [TABLE1_HEADER, "|---" * 9 + "|"]
    steps = {name: _training(results_dir, name)[1]["step"] for name in results["systems"]}
    for label, name, setting in _table1_rows(results, results_dir):
        system = results["systems"][name]
        scores, ca_sdri = system["scores"], system["ca_sdri"]
        f1 = system["macro_f1"].get(setting) if setting not in ("0.0", results["oracle"]) else None
        cells = [scores[f"{c}|{setting}"] for c in ("1:0", "1:1", "1:3", "0:1")]
        cells += [ca_sdri[f"1:0|{setting}"], ca_sdri[f"1:3|{setting}"], f1]
        lines.append(f"| {label} | {steps[name]} | " + " | ".join(format_score(cell) for cell in cells) + " |")
    silence = format_score(next(iter(results["systems"].values()))["silence_snri"]["1:0"])
    lines.append(f"| all-silent output | - | {silence} | {silence} | {silence} | {SILENCE_A_MIX} | 0.00 | 0.00 | - |")
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table", choices=["stages", "shipped", "models", "table1"])
    parser.add_argument("versions", nargs="*", help="shipped: its version; models: the versions, in order (v3 v4 ...)")
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    if args.table in ("shipped", "models") and not args.versions:
        parser.error(f"{args.table} needs the version(s) to show, e.g. v10")
    if args.table == "stages":
        print("\n".join(stages_table(args.results_dir)))
    elif args.table == "shipped":
        print("\n".join(shipped_table(args.results_dir, args.versions[0])))
    elif args.table == "models":
        print("\n".join(models_table(args.results_dir, args.versions)))
    else:
        for split in SPLITS:
            print(f"{split}:\n" + "\n".join(table1_table(args.results_dir, split)) + "\n")


if __name__ == "__main__":
    main()
