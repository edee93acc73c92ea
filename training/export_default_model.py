"""Copy a trained Proposed checkpoint into the package as its embedded default model.

    python -m qrtse.training.export_default_model runs/small-proposed/best

The folder `modeling_qrtse/default_model/` then holds the weights (safetensors), config,
feature extractor and the run's training arguments. Its evaluation results are committed once,
under results/ (`results/default-vN/`, `results/stages/NN/`), not copied next to it. The model's
`refinement_threshold` must already be the validation-chosen theta (`qrtse.training.select_threshold`).
The default model answers a query that refinement empties with exact silence
(`silence_empty_query=True`): for a user, "none of the classes you asked for is here" should
sound like silence; the evaluation tables follow the paper and run the network on the zero query.
"""

import argparse
import json
import shutil
from pathlib import Path

from modeling_qrtse import QrtseFeatureExtractor, QrtseModel
from modeling_qrtse.default_checkpoint import default_model_path

MAX_MEGABYTES = 30


def training_args_chain(run_dir: Path) -> list:
    """`training_args.json` of `run_dir`, then of the run its `init_from` names, and so on back
    to a run trained from scratch (paths as written by `qrtse.training.train`, relative to where it
    ran); stops at a link it cannot follow. A link to an exported model folder (one that holds
    `training_args.json` and `training_args_stage*.json` itself, as the default model does)
    contributes those files, newest first."""
    chain = []
    args_path = run_dir / "training_args.json"
    while args_path.exists() and args_path not in chain:
        chain.append(args_path)
        init_from = json.loads(args_path.read_text()).get("model", {}).get("init_from")
        if not init_from:
            break
        if (Path(init_from) / "training_args.json").exists():
            exported = Path(init_from)
            if (exported / "training_args.json").read_bytes() == args_path.read_bytes():
                # Exported before from this very run: the folder's own stages follow it.
                stages = sorted(
                    exported.glob("training_args_stage*.json"), key=lambda p: int(p.stem.rsplit("stage", 1)[1])
                )
                chain += list(reversed(stages))
                break
            stages = sorted(exported.glob("training_args_stage*.json"), key=lambda p: int(p.stem.rsplit("stage", 1)[1]))
            chain += [exported / "training_args.json", *reversed(stages)]
            break
        args_path = Path(init_from).parent / "training_args.json"
    return chain


def export(model_dir: Path, output_dir: Path) -> Path:
    model = QrtseModel.from_pretrained(model_dir)
    model.config.silence_empty_query = True
    # Read before output_dir is replaced: the chain may run through the folder being overwritten.
    chain = [path.read_bytes() for path in training_args_chain(model_dir.parent)]
    if output_dir.exists():
        shutil.rmtree(output_dir)
    model.save_pretrained(output_dir)
    QrtseFeatureExtractor(sampling_rate=model.config.sampling_rate).save_pretrained(output_dir)
    # Inside the package the model loads through the package's own classes: drop the copies of
    # the remote code that save_pretrained writes, so the source exists once.
    for code in output_dir.glob("*.py"):
        code.unlink()
    for name in ("config.json", "preprocessor_config.json"):
        config = json.loads((output_dir / name).read_text())
        config.pop("auto_map", None)
        (output_dir / name).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    if chain:
        (output_dir / "training_args.json").write_bytes(chain[0])
    # Runs the model was initialised from (`init_from`), oldest first: stage 1, stage 2, ...
    for stage, earlier in enumerate(reversed(chain[1:]), start=1):
        (output_dir / f"training_args_stage{stage}.json").write_bytes(earlier)
    megabytes = sum(p.stat().st_size for p in output_dir.iterdir()) / 2**20
    if megabytes > MAX_MEGABYTES:
        raise ValueError(f"default model folder is {megabytes:.1f} MB, over the {MAX_MEGABYTES} MB budget")
    return output_dir


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="trained model folder (save_pretrained output)")
    parser.add_argument("--output", default=str(default_model_path()))
    args = parser.parse_args(argv)
    folder = export(Path(args.model), Path(args.output))
    print(f"default model written to {folder}")
    return folder


if __name__ == "__main__":
    main()
