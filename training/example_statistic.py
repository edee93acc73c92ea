"""How often does refinement get the example mixtures right? Over seeded `qrtse extract
--example` mixtures (trumpet, cat and typing over an urban background, no dog; the seed changes
the renders, the recordings' picks and the background), count the queries for which refinement
keeps every present queried class and drops every absent one.

    python -m qrtse.training.example_statistic --num-examples 50 --json results/example-statistic/v2.json

Two kinds of query per example: the demo's own (`make demo`: Trumpet + Bark, one present and one
absent class) and a drawn one (one of the three present classes plus one absent class of the
model's vocabulary, drawn with `default_rng([seed, 1])`). Seeds are 0 ... N-1: none is picked.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from modeling_qrtse.cli_extract import load_pipeline

from .example_mixture import example_classes, example_mixture

DEMO_QUERY = ("Trumpet", "Bark")


def judge(result: dict, present: set) -> dict:
    """Whether refinement kept every present queried class and dropped every absent one."""
    query, refined = set(result["query"]), set(result["refined_query"])
    kept_present = query & present <= refined
    dropped_absent = not (refined - present)
    return {"query": sorted(query), "refined_query": sorted(refined), "correct": kept_present and dropped_absent,
            "kept_present": kept_present, "dropped_absent": dropped_absent}  # fmt: skip


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder or Hub id (default: the embedded model)")
    parser.add_argument("--num-examples", type=int, default=50)
    parser.add_argument("--threshold", type=float, help="default: the model's")
    parser.add_argument("--json", help="write every example's queries and verdicts here")
    parser.add_argument("--num-threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    extractor = load_pipeline(args.model)
    labels = [extractor.model.config.id2label[i] for i in range(extractor.model.config.num_labels)]
    present = set(example_classes())
    absent = [label for label in labels if label not in present]
    options = {} if args.threshold is None else {"threshold": args.threshold}
    rows = []
    for seed in range(args.num_examples):
        mixture, rate, _ = example_mixture(seed)
        rng = np.random.default_rng([seed, 1])
        drawn = [str(rng.choice(sorted(present))), str(rng.choice(absent))]
        results = extractor({"array": mixture, "sampling_rate": rate}, query=[list(DEMO_QUERY), drawn], **options)
        rows.append({"seed": seed, "demo": judge(results[0], present), "drawn": judge(results[1], present)})
    summary = {
        "num_examples": args.num_examples,
        "threshold": extractor.model.config.refinement_threshold if args.threshold is None else args.threshold,
        **{
            kind: {
                measure: float(np.mean([row[kind][measure] for row in rows]))
                for measure in ("correct", "kept_present", "dropped_absent")
            }
            for kind in ("demo", "drawn")
        },
    }
    for kind in ("demo", "drawn"):
        s = summary[kind]
        print(
            f"{kind} queries: {s['correct']:.0%} right (present kept {s['kept_present']:.0%}, "
            f"absent dropped {s['dropped_absent']:.0%}) over {args.num_examples} examples"
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"summary": summary, "examples": rows}, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    main()
