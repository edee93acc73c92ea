"""Quality parity of bf16 inference (issue 28 (b)): the same model, float32 and bfloat16 fused
paths, on the same validation mixtures.

    python -m benchmarks.bf16_parity --model modeling_qrtse/default_model --data-dir data/builtin \
        --num-mixtures 300 --json results/benchmarks/bf16_parity.json

Per mixture: SNRi of the fully matched query (1:0) at theta = 0 and at the model's theta, and the
refinement decision (p >= theta) for every (mixture, class) pair. Reports the mean SNRi of both
paths and their difference, and the share of pairs where the decision agrees.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from modeling_qrtse import QrtseModel
from qrtse.training.data_loading import class_names, frozen_examples
from qrtse.training.scoring import TABLE_CONDITIONS, score_mixture, to_model_labels

FMQ = TABLE_CONDITIONS[0]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="modeling_qrtse/default_model")
    parser.add_argument("--data-dir", default="data/builtin")
    parser.add_argument("--num-mixtures", type=int, default=300)
    parser.add_argument("--num-threads", type=int, default=None)
    parser.add_argument("--json", help="write the summary here")
    args = parser.parse_args(argv)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    model = QrtseModel.from_pretrained(args.model).eval()
    theta = model.config.refinement_threshold
    runners = {
        "float32": QrtseModel.from_pretrained(args.model).eval().optimize_for_inference(),
        "bfloat16": QrtseModel.from_pretrained(args.model).eval().optimize_for_inference(dtype=torch.bfloat16),
    }
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    dataset_labels = class_names(args.data_dir)
    snri = {name: {0.0: [], theta: []} for name in runners}
    agree = []
    examples = frozen_examples(args.data_dir, "validation", limit=args.num_mixtures)
    with torch.inference_mode():
        for index, example in enumerate(tqdm(examples, total=args.num_mixtures, desc="bf16 parity")):
            if list(dataset_labels) != labels:
                example = to_model_labels(example, dataset_labels, labels)
                if example is None:
                    continue
            results = {name: score_mixture(r, example, (FMQ,), [0.0, theta], [0, index]) for name, r in runners.items()}
            for name, result in results.items():
                for setting in (0.0, theta):
                    snri[name][setting].append(result["scores"][(FMQ.name, setting)])
            decisions = [results[name]["probabilities"] >= theta for name in runners]
            agree.append(decisions[0] == decisions[1])
    summary = {
        "model": args.model,
        "data_dir": args.data_dir,
        "num_mixtures": len(agree),
        "threshold": theta,
        "snri_fmq": {name: {str(s): float(np.mean(v)) for s, v in by.items()} for name, by in snri.items()},
        "snri_fmq_difference_db": {
            str(s): float(np.mean(snri["bfloat16"][s]) - np.mean(snri["float32"][s])) for s in (0.0, theta)
        },
        "max_abs_snri_difference_per_mixture_db": float(
            np.max(np.abs(np.array(snri["bfloat16"][0.0]) - np.array(snri["float32"][0.0])))
        ),
        "decision_agreement": float(np.mean(np.concatenate(agree))),
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


if __name__ == "__main__":
    main()
