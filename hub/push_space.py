"""Publish the Gradio demo (`spaces/`) as a Hub Space serving a published model.

    python -m hub.push_space --repo-id user/qrtse-demo --model-repo-id user/qrtse-small

Uploads `app.py`, its modules, `requirements.txt` and the Space README, and sets the Space
variable `QRTSE_MODEL` so the app loads the model repository as remote code.
"""

import argparse
from pathlib import Path

from huggingface_hub import HfApi

SPACE_FOLDER = Path(__file__).resolve().parents[1] / "spaces"
SPACE_FILES = ["*.py", "requirements.txt", "README.md"]


def push_space(repo_id: str, model_repo_id: str, private: bool = False) -> str:
    """Create (or update) the Space and upload the app; returns the commit URL."""
    api = HfApi()
    variables = [{"key": "QRTSE_MODEL", "value": model_repo_id, "description": "model repository the app serves"}]
    api.create_repo(
        repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True, space_variables=variables
    )
    # create_repo ignores the variables of an existing Space: set it explicitly too.
    api.add_space_variable(repo_id, "QRTSE_MODEL", model_repo_id, description=variables[0]["description"])
    commit = api.upload_folder(
        folder_path=SPACE_FOLDER,
        repo_id=repo_id,
        repo_type="space",
        allow_patterns=SPACE_FILES,
        commit_message=f"Gradio demo of {model_repo_id}",
    )
    return commit.commit_url


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo-id", required=True, help="namespace/name of the Space")
    parser.add_argument("--model-repo-id", required=True, help="the published model repository the Space serves")
    parser.add_argument("--private", action="store_true")
    args = parser.parse_args(argv)
    print(f"Published {args.repo_id}: {push_space(args.repo_id, args.model_repo_id, args.private)}")


if __name__ == "__main__":
    main()
