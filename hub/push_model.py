"""Publish a trained checkpoint as a Hub model repository.

    python -m qrtse.hub.push_model --model runs/small-proposed/best --repo-id user/qrtse-small \\
        --results results/builtin/results.json [--data-dir data/builtin] [--private]

One commit holds what `pipeline(model="user/qrtse-small", trust_remote_code=True)` needs without
this package: `model.safetensors`, `config.json` (with `auto_map` and `custom_pipelines`, written
by the pipeline's `save_pretrained`), `preprocessor_config.json`, `processor_config.json` (the
processor's classes, for `AutoProcessor`), the model, processor and pipeline code, plus the generated model card (README.md), LICENSE.md and the evaluation JSON.

Uses `HF_ENDPOINT` / `HF_TOKEN` as huggingface_hub does (see `tests/hub/local_hub.py` for a local Hub).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from huggingface_hub import HfApi

from modeling_qrtse.cli.models import exit_status, first_line, load_checked_model

from .model_card import model_card
from .training_data import training_data


def load_json(path):
    return json.loads(Path(path).read_text()) if path else None


def training_build_info(model_dir: Path, results: dict | None = None, data_dir=None) -> dict:
    """`build_info.json` of the data the model was trained on: from `data_dir`, else from the
    `training_args.json` of the run that saved `model_dir`, else from the evaluated data folder."""
    candidates = [data_dir]
    for folder in (model_dir, model_dir.parent):
        args = folder / "training_args.json"
        if args.is_file():
            candidates.append(json.loads(args.read_text()).get("data", {}).get("data_dir"))
    candidates.append((results or {}).get("data_dir"))
    for candidate in candidates:
        if candidate and (Path(candidate) / "build_info.json").is_file():
            return json.loads((Path(candidate) / "build_info.json").read_text())
    return None


def stage_model(
    model_dir, output_dir, repo_id, results=None, system=None, build_info=None, dataset_repo_id=None
) -> Path:
    """Write everything the repository will hold into `output_dir`."""
    from transformers import pipeline

    from modeling_qrtse.pipeline_qrtse import TASK, TargetSoundExtractionPipeline

    output_dir = Path(output_dir)
    pipe = pipeline(TASK, model=str(model_dir), pipeline_class=TargetSoundExtractionPipeline)
    pipe.save_pretrained(output_dir, safe_serialization=True)
    config = pipe.model.config
    card = model_card(config, repo_id, results, system, model_dir, build_info, dataset_repo_id)
    (output_dir / "README.md").write_text(card)
    data = training_data((build_info or {}).get("source"))
    (output_dir / "LICENSE.md").write_text(f"# Licence of {repo_id}\n\n{data.licence_summary}\n\n{data.notes}\n")
    if results is not None:
        (output_dir / "evaluation").mkdir(exist_ok=True)
        (output_dir / "evaluation" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return output_dir


def push_model(
    model_dir,
    repo_id,
    results=None,
    system=None,
    data_dir=None,
    dataset_repo_id=None,
    private=False,
    commit_message="Upload qrtse model",
) -> str:
    """Stage and upload; returns the commit URL."""
    model_dir = Path(model_dir)
    build_info = training_build_info(model_dir, results, data_dir)
    api = HfApi()
    with tempfile.TemporaryDirectory(prefix="qrtse-push-") as staging:
        stage_model(model_dir, staging, repo_id, results, system, build_info, dataset_repo_id)
        api.create_repo(repo_id, private=private, exist_ok=True)
        commit = api.upload_folder(folder_path=staging, repo_id=repo_id, commit_message=commit_message)
    return commit.commit_url


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="saved checkpoint folder (save_pretrained output)")
    parser.add_argument("--repo-id", required=True, help="namespace/name of the model repository")
    parser.add_argument("--results", help="results.json of `python -m qrtse.training.evaluate` (model-index, table)")
    parser.add_argument("--system", help="which system of the results is this checkpoint (default: by path)")
    parser.add_argument("--data-dir", help="build folder of the training data (for the card's data notes)")
    parser.add_argument("--dataset-repo-id", help="Hub id of the published evaluation dataset, linked from the card")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument("--output-dir", help="only write the repository's files here (an empty or new folder)")
    args = parser.parse_args(argv)
    return exit_status("qrtse.hub.push_model", lambda: run(args))


def run(args) -> None:
    # Everything a user can get wrong is checked before anything is staged or uploaded.
    output_dir = Path(args.output_dir) if args.output_dir else None
    if output_dir and output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())):
        raise ValueError(f"--output-dir {args.output_dir} exists and is not an empty folder")
    try:
        results = load_json(args.results)
    except (OSError, ValueError) as error:
        raise ValueError(f"--results {args.results}: {first_line(error)}") from error
    load_checked_model(args.model)
    if args.output_dir:
        build_info = training_build_info(Path(args.model), results, args.data_dir)
        stage_model(args.model, args.output_dir, args.repo_id, results, args.system, build_info, args.dataset_repo_id)
        print(f"Wrote {args.output_dir}")
        return
    url = push_model(args.model, args.repo_id, results, args.system, args.data_dir, args.dataset_repo_id, args.private)
    print(f"Published {args.repo_id}: {url}")


if __name__ == "__main__":
    sys.exit(main())
