"""The metric modules published to a local Hub and loaded back with `evaluate.load(repo_id)`."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hub_helpers import hub_environment
from huggingface_hub import HfApi

REPOSITORY = Path(__file__).parents[2]

LOADER = """
import json, evaluate
snri = evaluate.load("user/qrtse-snri")
a_mix = evaluate.load("user/qrtse-a_mix")
ca_sdri = evaluate.load("user/qrtse-ca_sdri")
print(json.dumps({
    "snri": snri.compute(predictions=[[1.0, 0.0, 1.0]], references=[[1.0, 0.0, 0.5]], mixtures=[[1.0, 1.0, 0.5]])["snri"],
    "a_mix": a_mix.compute(predictions=[[0.1, 0.1]], references=[[1.0, 1.0]])["a_mix"],
    "ca_sdri": ca_sdri.compute(predictions=[["Bark", "Meow"]], references=[["Bark"]], sdri=[{"Bark": 8.0}])["ca_sdri"],
}))
"""


@pytest.mark.slow
def test_publish_metrics_then_load_them_by_repo_id(local_hub, tmp_path):
    env = hub_environment(local_hub, tmp_path / "home")
    published = subprocess.run(
        [sys.executable, "-m", "qrtse.hub.push_metrics", "--namespace", "user"],
        cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert published.returncode == 0, published.stderr[-3000:]
    api = HfApi(endpoint=local_hub.endpoint, token="hf_local_dummy")
    assert set(api.list_repo_files("user/qrtse-ca_sdri", repo_type="space")) == {"qrtse-ca_sdri.py", "README.md"}
    loaded = subprocess.run(
        [sys.executable, "-c", LOADER], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    scores = json.loads(loaded.stdout.strip().splitlines()[-1])
    # SNR of the estimate: 10 log10(2.25 / 0.25); of the mixture: 10 log10(2.25 / 1); A_mix: 10 log10(0.01)
    assert scores["snri"] == pytest.approx(10 * __import__("math").log10(9.0 / 2.25), abs=1e-6)
    assert scores["a_mix"] == pytest.approx(-20.0, abs=1e-4) and scores["ca_sdri"] == pytest.approx(4.0)
