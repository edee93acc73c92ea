"""Choose a causal model's online-refinement timing on validation (never on test) and store it as
the model's default (`config.presence_window_s`, `config.release_s`).

    python -m qrtse.training.select online-refinement --model modeling_qrtse/causal_model \
        --intra-clip-dir data/intra-clip --num-mixtures 150 --write

Criterion: the highest whole-clip SNRi of `refinement="online"` (what `qrtse stream` and the
pipeline do with a causal model), averaged over FMQ (1:0) and PMQ (1:1, 1:3), on the intra-clip
validation mixtures (20 s, sounds that come and go; `qrtse.training.intra_clip_scoring`). A short
presence window hears an onset sooner and a long one is surer; a short release drops a class
sooner after it stops and a long one flickers less: the criterion weighs both, as the frame-level
smoothing's does. Theta stays the model's (chosen by `select threshold`). Ties go to the candidate
listed first; the model's current timing is scored first, so it is kept unless another beats it.
"""

import argparse
import json
from pathlib import Path

import torch
from tqdm.auto import tqdm

from modeling_qrtse import QrtseModel

from .config_file import set_config_keys
from .data_loading import class_names, frozen_examples
from .intra_clip_selection import candidates, intra_clip_criterion

DEFAULT_GRID = {"presence_window_s": [0.25, 0.5, 1.0, 2.0], "release_s": [0.25, 0.5, 1.0]}


def main(argv=None, prog=None) -> dict:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--intra-clip-dir", required=True, help="a build made with --duration_s 20 (validation split)")
    parser.add_argument("--num-mixtures", type=int, default=None, help="the first N validation mixtures")
    parser.add_argument("--grid", type=json.loads, default=DEFAULT_GRID, help="JSON {parameter: [values]}")
    parser.add_argument("--num-threads", type=int, default=None)
    parser.add_argument("--json", help="write every candidate's score here")
    parser.add_argument("--write", action="store_true", help="store the chosen timing in the model's config.json")
    args = parser.parse_args(argv)
    if set(args.grid) - set(DEFAULT_GRID):
        parser.error(f"--grid takes {sorted(DEFAULT_GRID)}, got {sorted(args.grid)}")
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    model = QrtseModel.from_pretrained(args.model).eval()
    if not model.config.causal:
        raise SystemExit(f"{args.model} is not causal: online refinement needs a causal model")
    runner = model.optimize_for_inference()
    examples = list(frozen_examples(args.intra_clip_dir, "validation", limit=args.num_mixtures))
    labels = class_names(args.intra_clip_dir)
    current = {name: getattr(model.config, name) for name in DEFAULT_GRID}
    grid = [current] + [c for c in candidates(DEFAULT_GRID | args.grid) if c != current]
    rows = []
    for timing in tqdm(grid, desc="candidates"):
        for name, value in timing.items():
            setattr(runner.config, name, value)
        score = intra_clip_criterion(runner, examples, labels, smoothing=None, setting="online")
        rows.append({"timing": timing, "intra_clip_snri": score})
        print(json.dumps(rows[-1]))
    best = max(rows, key=lambda row: round(row["intra_clip_snri"], 6))
    print(
        f"chosen: {best['timing']} (intra-clip SNRi {best['intra_clip_snri']:.2f} dB; current {rows[0]['intra_clip_snri']:.2f})"
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        summary = {"model": args.model, "num_mixtures": len(examples), "candidates": rows, "chosen": best}
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    if args.write:
        set_config_keys(args.model, **best["timing"])
    return best


if __name__ == "__main__":
    main()
