"""Publish the evaluate metric modules (SNRi, A_mix, CA-SDRi) as Hub metric repositories.

    python -m qrtse.hub.push_metrics --namespace user [--prefix qrtse-]

Each of `qrtse.training.metric_modules/<name>/` becomes the Space `<namespace>/<prefix><name>`
(metric repositories are Spaces on the Hub; the script is stored as `<prefix><name>.py`, the name
evaluate looks for), which `evaluate.load("<namespace>/<prefix><name>")` loads; the modules compute with `qrtse.training.metrics`, so their users `pip install qrtse`.
"""

import argparse
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi

from ..training import metrics

MODULES_FOLDER = Path(metrics.__file__).with_name("metric_modules")
METRICS = ("snri", "a_mix", "ca_sdri")


def push_metrics(namespace: str, prefix: str = "qrtse-", private: bool = False) -> dict:
    """Create (or update) one Space per metric module; returns `{repo_id: commit URL}`."""
    api = HfApi()
    published = {}
    for name in METRICS:
        folder = MODULES_FOLDER / name
        repo_name = f"{prefix}{name}"
        repo_id = f"{namespace}/{repo_name}"
        api.create_repo(repo_id, repo_type="space", space_sdk="static", private=private, exist_ok=True)
        # evaluate.load("<namespace>/<name>") reads the script named after the repository.
        operations = [
            CommitOperationAdd(f"{repo_name}.py", str(folder / f"{name}.py")),
            CommitOperationAdd("README.md", str(folder / "README.md")),
        ]
        commit = api.create_commit(
            repo_id, operations, repo_type="space", commit_message=f"evaluate metric module {name}"
        )
        published[repo_id] = commit.commit_url
    return published


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--namespace", required=True, help="user or organisation the repositories go to")
    parser.add_argument("--prefix", default="qrtse-", help="repository name prefix (default: qrtse-)")
    parser.add_argument("--private", action="store_true")
    args = parser.parse_args(argv)
    for repo_id, url in push_metrics(args.namespace, args.prefix, args.private).items():
        print(f"Published {repo_id}: {url}")


if __name__ == "__main__":
    main()
