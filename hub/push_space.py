"""Publish the Gradio demo (`spaces/`) as a Hub Space serving a published model.

    python -m qrtse.hub.push_space --repo-id user/qrtse-demo --model-repo-id user/qrtse-small [--space-dir spaces]

Uploads `app.py`, its modules, `requirements.txt` and the Space README, and sets the Space
variable `QRTSE_MODEL` so the app loads the model repository as remote code. The Space folder is
the repository's `spaces/` (not installed with the package): found next to this file in a
checkout or an editable install, otherwise named with `--space-dir`.
"""

import argparse
import sys
from pathlib import Path

from huggingface_hub import HfApi

from modeling_qrtse.cli.models import exit_status

CHECKOUT_SPACE_FOLDER = Path(__file__).resolve().parents[1] / "spaces"
SPACE_FILES = ["*.py", "requirements.txt", "README.md"]


def space_folder(path=None) -> Path:
    """The Space folder to publish: `path`, or the checkout's `spaces/`; ValueError if it has no app."""
    folder = Path(path) if path is not None else CHECKOUT_SPACE_FOLDER
    if not (folder / "app.py").is_file():
        hint = "" if path is not None else " (the package does not install the Space: pass --space-dir)"
        raise ValueError(f"no Space app at {folder / 'app.py'}{hint}")
    return folder


def push_space(repo_id: str, model_repo_id: str, private: bool = False, folder=None) -> str:
    """Create (or update) the Space and upload the app in `folder` (default: the checkout's
    `spaces/`); returns the commit URL."""
    folder = space_folder(folder)
    api = HfApi()
    variables = [{"key": "QRTSE_MODEL", "value": model_repo_id, "description": "model repository the app serves"}]
    api.create_repo(
        repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True, space_variables=variables
    )
    # create_repo ignores the variables of an existing Space: set it explicitly too.
    api.add_space_variable(repo_id, "QRTSE_MODEL", model_repo_id, description=variables[0]["description"])
    commit = api.upload_folder(
        folder_path=folder,
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
    parser.add_argument("--space-dir", help="the Space folder (default: the repository's spaces/)")
    args = parser.parse_args(argv)

    def run():
        url = push_space(args.repo_id, args.model_repo_id, args.private, args.space_dir)
        print(f"Published {args.repo_id}: {url}")

    return exit_status("qrtse.hub.push_space", run)


if __name__ == "__main__":
    sys.exit(main())
