"""`import qrtse`: the project's one import name gives the public API, and the recipes stay its
subpackages."""

import importlib
import subprocess
import sys
import textwrap

import modeling_qrtse
import qrtse
from modeling_qrtse.long_form_qrtse import extract_long_form

PUBLIC = {
    "QrtseModel": modeling_qrtse.QrtseModel,
    "QrtseConfig": modeling_qrtse.QrtseConfig,
    "QrtseFeatureExtractor": modeling_qrtse.QrtseFeatureExtractor,
    "QrtseOutput": modeling_qrtse.QrtseOutput,
    "QrtseAnalysis": modeling_qrtse.QrtseAnalysis,
    "QrtseProcessor": modeling_qrtse.QrtseProcessor,
    "QrtseStreamer": modeling_qrtse.QrtseStreamer,
    "QrtseStreamState": modeling_qrtse.QrtseStreamState,
    "TargetSoundExtractionPipeline": modeling_qrtse.TargetSoundExtractionPipeline,
    "TASK": modeling_qrtse.TASK,
    "extract_long_form": extract_long_form,
    "default_model_path": modeling_qrtse.default_model_path,
    "causal_model_path": modeling_qrtse.causal_model_path,
    "__version__": modeling_qrtse.__version__,
}


def test_qrtse_is_a_package_with_the_public_api():
    assert qrtse.__file__ is not None  # a regular package, not an empty namespace
    for name, value in PUBLIC.items():
        assert getattr(qrtse, name) is value, name
    assert set(PUBLIC) <= set(qrtse.__all__)
    assert all(hasattr(qrtse, name) for name in qrtse.__all__)


def test_recipes_are_subpackages_of_qrtse():
    for name in ("qrtse.training", "qrtse.training.metrics", "qrtse.training.sources.builtin", "qrtse.hub.model_card"):
        assert importlib.import_module(name).__name__ == name
    assert importlib.util.find_spec("qrtse.training.train") is not None
    assert importlib.util.find_spec("qrtse.hub.push_model") is not None


def test_import_qrtse_alone_registers_the_auto_classes_and_the_pipeline():
    # In a new interpreter: here, modeling_qrtse was imported long before.
    script = textwrap.dedent(
        """
        import sys
        import qrtse
        from transformers import AutoConfig
        from transformers.pipelines import PIPELINE_REGISTRY
        assert qrtse.TASK in PIPELINE_REGISTRY.get_supported_tasks()
        assert PIPELINE_REGISTRY.supported_tasks[qrtse.TASK]["impl"] is qrtse.TargetSoundExtractionPipeline
        assert type(AutoConfig.for_model("qrtse")) is qrtse.QrtseConfig
        assert "qrtse.training" not in sys.modules  # the library never pulls in the recipes
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
