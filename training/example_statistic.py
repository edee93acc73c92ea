"""How often does refinement get the shipped examples' kind of query right? Over the first N
mixtures of the real-recordings test split, by the rule that chose the shipped examples
(`qrtse.training.real_examples`: one present and one absent class, drawn with a fixed seed per mixture),
count the queries for which refinement keeps the present class and drops the absent one.

    python -m qrtse.training.example_statistic --data-dir data/real --num-examples 50 \
        --json results/example-statistic/v4-real.json

The first three of these mixtures are the shipped examples (`qrtse extract --example 1/2/3`).
Nothing is picked: the mixtures are the split's first N, in order.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from modeling_qrtse.cli.extract import load_pipeline

from .frozen_split import decode_mixture
from .real_examples import rule_examples


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
    parser.add_argument("--data-dir", default="data/real", help="the real-recordings build")
    parser.add_argument("--num-examples", type=int, default=50)
    parser.add_argument("--threshold", type=float, help="default: the model's")
    parser.add_argument("--json", help="write every example's query and verdict here")
    parser.add_argument("--num-threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    extractor = load_pipeline(args.model)
    options = {} if args.threshold is None else {"threshold": args.threshold}
    rows = []
    for index, row, query, present in rule_examples(args.data_dir, args.num_examples):
        decoded = decode_mixture(row)
        result = extractor(
            {"array": decoded["mixture"], "sampling_rate": decoded["sample_rate"]}, query=query, **options
        )
        rows.append({"split_index": index, "mixture_id": row["mixture_id"], **judge(result, set(present))})
    summary = {
        "num_examples": len(rows),
        "data_dir": args.data_dir,
        "threshold": extractor.model.config.refinement_threshold if args.threshold is None else args.threshold,
        **{
            measure: float(np.mean([r[measure] for r in rows]))
            for measure in ("correct", "kept_present", "dropped_absent")
        },
    }
    print(
        f"{summary['correct']:.0%} right (present kept {summary['kept_present']:.0%}, absent dropped "
        f"{summary['dropped_absent']:.0%}) over the first {len(rows)} real test mixtures"
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"summary": summary, "examples": rows}, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    main()
