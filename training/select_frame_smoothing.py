"""Choose frame-level refinement's threshold and smoothing on validation (never on test) and
store them as the model's default (`config.frame_smoothing`).

    python -m qrtse.training.select frame-smoothing --model runs/candidate/best \
        --intra-clip-dir data/intra-clip --standard-dir data/builtin --write

Criterion: the highest whole-clip SNRi of `refinement="frame"`, averaged over FMQ (1:0) and
PMQ (1:1, 1:3), on the intra-clip validation mixtures (`qrtse.training.intra_clip_selection`): it
rewards silencing the regions where no queried class sounds and punishes cutting the target
alike. Constraint: on the standard validation mixtures (6 s, the Table 1 protocol) frame
refinement may lose at most `--max-fmq-loss` dB of FMQ (1:0) SNRi against file-level refinement
(the issue allows 0.3 dB on test; the margin is for the validation-to-test gap). Ties go to the
candidate listed first (less smoothing). The candidates are `--grid`'s product.
"""

import argparse
import json
from pathlib import Path

import torch
from tqdm.auto import tqdm

from modeling_qrtse import QrtseModel
from modeling_qrtse.frame_smoothing_qrtse import FrameSmoothing

from .config_file import set_config_keys
from .data_loading import class_names, frozen_examples
from .intra_clip_scoring import evaluate_intra_clip
from .intra_clip_selection import candidates, intra_clip_criterion
from .scoring import Condition

DEFAULT_GRID = {
    "threshold": [None, 0.1],
    "median_s": [0.0, 0.2],
    "min_gap_s": [0.0, 0.5],
    "min_event_s": [0.0],
    "pad_s": [0.1, 0.3],
}


def fmq_snri(model, examples, labels, smoothing, setting: str) -> float:
    """FMQ (1:0) whole-clip SNRi of one refinement setting ("file" or "frame") on standard mixtures."""
    summary = evaluate_intra_clip(
        model, examples, labels, smoothing=smoothing, conditions=(Condition(1, 0),), settings=(setting,)
    )
    return summary["scores"][f"1:0|{setting}"]["snri"]


def main(argv=None, prog=None) -> dict:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--intra-clip-dir", required=True, help="a build made with --duration_s 20 (validation split)")
    parser.add_argument(
        "--standard-dir", required=True, help="a standard build (validation split), for the FMQ constraint"
    )
    parser.add_argument("--num-mixtures", type=int, default=None, help="first N validation mixtures of each build")
    parser.add_argument("--max-fmq-loss", type=float, default=0.2)
    parser.add_argument("--grid", type=json.loads, default=DEFAULT_GRID, help="JSON {parameter: [values]}")
    parser.add_argument("--num-threads", type=int, default=None)
    parser.add_argument("--json", help="write every candidate's scores here")
    parser.add_argument("--write", action="store_true", help="store the chosen smoothing in the model's config.json")
    args = parser.parse_args(argv)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    model = QrtseModel.from_pretrained(args.model).eval()
    if model.classifier is None:
        raise SystemExit(f"{args.model} has no classifier: frame-level refinement needs one")
    runner = model.optimize_for_inference()

    def examples(data_dir):
        return list(frozen_examples(data_dir, "validation", limit=args.num_mixtures))

    intra, standard = examples(args.intra_clip_dir), examples(args.standard_dir)
    intra_labels, standard_labels = class_names(args.intra_clip_dir), class_names(args.standard_dir)
    rows = []
    file_level = fmq_snri(runner, standard, standard_labels, None, "file")  # the same for every candidate
    for smoothing in tqdm(candidates(args.grid), desc="candidates"):
        row = {"frame_smoothing": smoothing}
        row["intra_clip_snri"] = intra_clip_criterion(runner, intra, intra_labels, smoothing)
        row["fmq_loss"] = file_level - fmq_snri(runner, standard, standard_labels, smoothing, "frame")
        rows.append(row)
        print(json.dumps(row))
    allowed = [row for row in rows if row["fmq_loss"] <= args.max_fmq_loss]
    if not allowed:
        raise SystemExit(f"no candidate loses <= {args.max_fmq_loss} dB of FMQ SNRi; widen --grid (e.g. more pad_s)")
    best = max(allowed, key=lambda row: round(row["intra_clip_snri"], 6))
    print(
        f"chosen: {best['frame_smoothing']} (intra-clip SNRi {best['intra_clip_snri']:.2f} dB, FMQ loss {best['fmq_loss']:.2f} dB)"
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"candidates": rows, "chosen": best}, indent=2) + "\n")
    if args.write:
        set_config_keys(args.model, frame_smoothing=FrameSmoothing.from_dict(best["frame_smoothing"]).to_dict())
    return best


if __name__ == "__main__":
    main()
