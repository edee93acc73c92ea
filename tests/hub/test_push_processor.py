"""The processor is pushed with the model: `AutoProcessor.from_pretrained` on the Hub repository
returns it in a fresh process where `modeling_qrtse` cannot be imported (remote code)."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hub_helpers import hub_environment

REPOSITORY = Path(__file__).parents[2]

USER = """
import json, sys
for name in ("modeling_qrtse", "training", "hub"):
    sys.modules[name] = None
import numpy as np
from transformers import AutoProcessor

processor = AutoProcessor.from_pretrained("user/qrtse-processor", trust_remote_code=True)
inputs = processor(np.zeros(3200, np.float32), sampling_rate=16000, query=[["trumpet"], ["Bark", 26]])
try:
    processor.encode_query(["dog"])
except ValueError as error:
    message = str(error)
report = {
    "class": type(processor).__name__, "module": type(processor).__module__,
    "feature_extractor": type(processor.feature_extractor).__name__, "labels": processor.labels,
    "query_shape": list(inputs["query"].shape), "names": processor.decode_query(inputs["query"][0]),
    "error": message,
}
json.dump(report, open("report.json", "w"))
"""


def run(command, env, cwd):
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"{command[:4]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.mark.slow
def test_auto_processor_on_a_pushed_repository_without_the_package(local_hub, tiny_checkpoint, tmp_path):
    publisher = hub_environment(local_hub, tmp_path / "publisher_home")
    argv = ["--model", str(tiny_checkpoint / "best"), "--repo-id", "user/qrtse-processor"]
    script = f"from qrtse.hub import push_model\npush_model.main({argv!r})\n"
    assert "Published user/qrtse-processor" in run([sys.executable, "-c", script], publisher, REPOSITORY).stdout

    workdir = tmp_path / "user"
    workdir.mkdir()
    run([sys.executable, "-c", textwrap.dedent(USER)], hub_environment(local_hub, tmp_path / "user_home"), workdir)
    report = json.loads((workdir / "report.json").read_text())
    assert report["class"] == "QrtseProcessor" and report["module"].startswith("transformers_modules.")
    assert report["feature_extractor"] == "QrtseFeatureExtractor" and len(report["labels"]) == 41
    assert report["query_shape"] == [1, 2, 41]
    assert report["names"] == [["Trumpet"], ["Bark", report["labels"][26]]]
    assert "Did you mean 'Bark'" in report["error"]
