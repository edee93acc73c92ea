"""Publish a checkpoint, a build and the Space to a local Hub, then use them as a user without
this package would: a fresh process, an empty cache, `modeling_qrtse` / `training` / `hub`
unimportable; the Space's handler runs from its downloaded folder with its Space variables."""

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hub_helpers import hub_environment
from huggingface_hub import HfApi

REPOSITORY = Path(__file__).parents[2]

# The user's side: nothing of this repository can be imported.
LOADER = """
import io, json, sys
for name in ("modeling_qrtse", "training", "hub"):
    sys.modules[name] = None
import numpy as np
import soundfile as sf
from datasets import load_dataset
from transformers import pipeline

extractor = pipeline(model="user/qrtse-tiny", trust_remote_code=True)
mixtures = load_dataset("user/qrtse-mixtures")
row = mixtures["test"][0]
out = extractor(row["mixture"], query=["Bark", "Trumpet"], threshold=0.1, return_probabilities=True)
recipes = load_dataset("user/qrtse-recipes", split="test")
mixture, rate = sf.read(io.BytesIO(row["mixture"]["bytes"]), dtype="float32")
sf.write("mixture.wav", mixture, rate)
report = {
    "pipeline": type(extractor).__name__, "splits": {k: len(v) for k, v in mixtures.items()},
    "samples": len(mixture), "audio": len(out["audio"]), "rate": out["sampling_rate"],
    "finite": bool(np.isfinite(out["audio"]).all()), "query": out["query"], "refined": out["refined_query"],
    "classes": len(out["class_probabilities"]), "recipe_columns": recipes.column_names,
}

# The Space as the Hub runs it: its own folder, its variables in the environment, no package.
import os
from huggingface_hub import HfApi, snapshot_download
space = snapshot_download("user/qrtse-demo", repo_type="space")
for key, variable in HfApi().get_space_variables("user/qrtse-demo").items():
    os.environ[key] = variable.value
sys.path.insert(0, space)
import app
handler = app.make_extract(app.load_extractor(app.resolve_model()))
(rate, extracted), *_ = handler("mixture.wav", ["Bark", "Trumpet"], 0.1, True)
report["space_files"] = sorted(os.listdir(space))
report["space_model"] = os.environ["QRTSE_MODEL"]
report["space_audio"] = len(extracted)
"""


def run(command, env, cwd):
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"{command[:4]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


def readme(hub, repo_type, repo_id) -> str:
    store = hub.store
    return store.read_blob(store.repo(repo_type, repo_id).head.files["README.md"]).decode()


def usage_snippet(card: str) -> str:
    """The card's first python block: what a user copies."""
    return re.search(r"```python\n(.*?)```", card, re.DOTALL).group(1)


@pytest.mark.slow
def test_publish_then_load_without_the_package(local_hub, tiny_checkpoint, tiny_build, tmp_path):
    publisher = hub_environment(local_hub, tmp_path / "publisher_home")
    # The three publishing commands' entry points, in one process to pay torch's import once.
    commands = [
        [
            "qrtse.hub.push_model",
            [
                "--model",
                str(tiny_checkpoint / "best"),
                "--repo-id",
                "user/qrtse-tiny",
                "--results",
                str(tiny_checkpoint / "results.json"),
                "--dataset-repo-id",
                "user/qrtse-mixtures",
            ],
        ],
        # A folder build: the builder cannot know the clips' licence, the publisher vouches for them...
        ["qrtse.hub.push_dataset", ["--build", str(tiny_build), "--repo-id", "user/qrtse-mixtures", "--include-audio"]],
        # ... or does not, and only the recipes are published.
        ["qrtse.hub.push_dataset", ["--build", str(tiny_build), "--repo-id", "user/qrtse-recipes", "--splits", "test"]],
        ["qrtse.hub.push_space", ["--repo-id", "user/qrtse-demo", "--model-repo-id", "user/qrtse-tiny"]],
    ]
    script = "import importlib\n" + "".join(
        f"importlib.import_module({module!r}).main({argv!r})\n" for module, argv in commands
    )
    published = run([sys.executable, "-c", script], publisher, REPOSITORY)
    assert all(f"Published user/{name}" in published.stdout for name in ("qrtse-tiny", "qrtse-recipes", "qrtse-demo"))

    api = HfApi(endpoint=local_hub.endpoint, token="hf_local_dummy")
    files = set(api.list_repo_files("user/qrtse-tiny"))
    expected = {
        "model.safetensors",
        "config.json",
        "preprocessor_config.json",
        "README.md",
        "LICENSE.md",
        "modeling_qrtse.py",
        "pipeline_qrtse.py",
        "feature_extraction_qrtse.py",
        "evaluation/results.json",
    }
    assert expected <= files and not any(name.endswith(".bin") for name in files)
    assert api.model_info("user/qrtse-tiny").pipeline_tag == "audio-to-audio"
    card = readme(local_hub, "model", "user/qrtse-tiny")
    mixtures_card, recipes_card = (
        readme(local_hub, "dataset", "user/qrtse-mixtures"),
        readme(local_hub, "dataset", "user/qrtse-recipes"),
    )
    assert "dataset_info:" in mixtures_card and "## Sources and licences" in mixtures_card
    assert "Recipes only" in recipes_card and "Recipes only" not in mixtures_card

    user_home, workdir = tmp_path / "user_home", tmp_path / "user"
    workdir.mkdir()
    user = hub_environment(local_hub, user_home)
    snippet = usage_snippet(card)
    loader = LOADER + "\n" + snippet + "\nimport os\nreport['snippet_output'] = os.path.getsize('extracted.wav')\n"
    loader += "json.dump(report, open('report.json', 'w'))\n"
    run([sys.executable, "-c", textwrap.dedent(loader)], user, workdir)
    report = json.loads((workdir / "report.json").read_text())
    assert report["pipeline"] == "TargetSoundExtractionPipeline"
    assert report["splits"] == {"validation": 2, "test": 3}
    assert report["audio"] == report["samples"] and report["rate"] == 16000 and report["finite"]
    assert report["query"] == ["Bark", "Trumpet"] and set(report["refined"]) <= {"Bark", "Trumpet"}
    assert report["classes"] == 41
    assert "mixture" not in report["recipe_columns"] and "recipe" in report["recipe_columns"]
    assert report["snippet_output"] > 1000  # the card's snippet wrote extracted.wav
    assert any(user_home.rglob("model.safetensors")), "the model came from the Hub into the empty cache"
    assert {"app.py", "example_mixtures.py", "spectrograms.py", "requirements.txt", "README.md"} <= set(
        report["space_files"]
    )
    assert report["space_model"] == "user/qrtse-tiny" and report["space_audio"] == report["samples"]
