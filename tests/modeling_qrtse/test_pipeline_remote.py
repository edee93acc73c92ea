"""The pipeline as shipped: saved with its code, loaded where the package is not installed, and the
no-model default."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from pipeline_helpers import make_pipeline, noise
from transformers import pipeline
from transformers.pipelines import PIPELINE_REGISTRY

from modeling_qrtse import TASK, TargetSoundExtractionPipeline, default_model_path

QUERY = ["Trumpet", "Bark"]


def test_registered_task():
    assert TASK == "target-sound-extraction"
    assert TASK in PIPELINE_REGISTRY.get_supported_tasks()
    implementation = PIPELINE_REGISTRY.supported_tasks[TASK]
    assert implementation["impl"] is TargetSoundExtractionPipeline and implementation["type"] == "audio"
    assert implementation["default"]["model"][0] == str(default_model_path())


def test_saved_folder_carries_the_pipeline(tiny_pipeline_folder):
    config = json.loads((tiny_pipeline_folder / "config.json").read_text())
    task = config["custom_pipelines"][TASK]
    assert task["impl"] == "pipeline_qrtse.TargetSoundExtractionPipeline" and task["pt"] == ["AutoModel"]
    assert "default" not in task  # a path inside this installation means nothing elsewhere
    for name in (
        "pipeline_qrtse.py",
        "query_qrtse.py",
        "audio_inputs_qrtse.py",
        "weights_qrtse.py",
        "chunking_qrtse.py",
        "long_form_qrtse.py",
        "frame_refinement_qrtse.py",
        "pipeline_outputs_qrtse.py",
        "preprocessor_config.json",
    ):
        assert (tiny_pipeline_folder / name).exists(), name
    package_only = ("dataset_extraction_qrtse.py", "default_checkpoint.py", "onnx_export.py")
    for name in (*package_only, "__init__.py"):
        assert not (tiny_pipeline_folder / name).exists(), f"{name} is package-only"
    assert not list(tiny_pipeline_folder.glob("cli*")), "the CLI is package-only"
    kernels = {"fast_inference", "fast_training", "gemm", "depthwise", "bigru", "onnx_runtime", "kernels"}
    saved_code = {path.stem.removesuffix("_qrtse") for path in tiny_pipeline_folder.glob("*.py")}
    assert not (kernels & saved_code), "the CPU kernels are package-only"


def test_folder_loads_in_process_with_the_package(tiny_pipeline_folder):
    pipe = pipeline(TASK, model=str(tiny_pipeline_folder), pipeline_class=TargetSoundExtractionPipeline)
    expected = make_pipeline()(noise(0.5), query=QUERY)["audio"]
    np.testing.assert_array_equal(pipe(noise(0.5), query=QUERY)["audio"], expected)


@pytest.mark.slow
def test_remote_code_where_the_package_cannot_be_imported(tiny_pipeline_folder, tmp_path):
    np.save(tmp_path / "mix.npy", noise(1.0, 44100, 2))
    expected = make_pipeline()({"array": noise(1.0, 44100, 2), "sampling_rate": 44100}, query=QUERY, chunk_length_s=0.4)
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["modeling_qrtse"] = None  # make the package unimportable
        import numpy as np
        from transformers import pipeline
        pipe = pipeline(model={str(tiny_pipeline_folder)!r}, trust_remote_code=True)
        assert type(pipe).__name__ == "TargetSoundExtractionPipeline", type(pipe)
        assert "transformers_modules" in type(pipe).__module__
        mix = {{"array": np.load({str(tmp_path / "mix.npy")!r}), "sampling_rate": 44100}}
        out = pipe(mix, query={QUERY!r}, chunk_length_s=0.4)
        batch = pipe([mix, mix], query=[["Bark"], ["Meow"]], batch_size=2)
        assert [o["query"] for o in batch[1]] == [["Bark"], ["Meow"]]
        try:
            pipe(mix, query=["dog"])
        except ValueError as error:
            assert "Bark" in str(error)
        else:
            raise AssertionError("unknown label accepted")
        np.save({str(tmp_path / "out.npy")!r}, out["audio"])
        print(out["refined_query"])
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected["audio"])
    assert result.stdout.strip() == str(expected["refined_query"])


def test_saved_folder_needs_trust_remote_code_or_the_pipeline_class(tiny_pipeline_folder):
    # transformers checks a folder's custom_pipelines before its registry, even with the package
    # imported: pass trust_remote_code=True, or pipeline_class as above.
    with pytest.raises(ValueError, match="trust_remote_code"):
        pipeline(TASK, model=str(tiny_pipeline_folder))


def test_no_model_uses_the_default_checkpoint(tiny_pipeline_folder, monkeypatch):
    default = PIPELINE_REGISTRY.supported_tasks[TASK]["default"]
    monkeypatch.setitem(default, "model", (str(tiny_pipeline_folder), None))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pipe = pipeline(TASK)
    assert isinstance(pipe, TargetSoundExtractionPipeline)
    np.testing.assert_array_equal(
        pipe(noise(0.5), query=QUERY)["audio"], make_pipeline()(noise(0.5), query=QUERY)["audio"]
    )


@pytest.mark.skipif(
    not (default_model_path() / "config.json").exists(), reason="the embedded checkpoint is not trained yet"
)
def test_the_embedded_default_checkpoint(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = pipeline(TASK)(noise(2.0), query=QUERY, threshold=0.1)
    assert np.isfinite(out["audio"]).all() and out["sampling_rate"] == 16000
