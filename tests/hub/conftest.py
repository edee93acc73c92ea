"""Fixtures for publishing tests: a local Hub server, a tiny checkpoint with a fake evaluation,
a tiny build folder made by the real builder, and the environment a user's shell would have."""

import json
import sys
from pathlib import Path

import pytest
import torch
from hub_helpers import fake_results
from local_hub import LocalHub

from modeling_qrtse import QrtseConfig, QrtseFeatureExtractor, QrtseModel


@pytest.fixture(scope="session")
def local_hub(tmp_path_factory):
    with LocalHub(tmp_path_factory.mktemp("local_hub")) as hub:
        yield hub


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A tiny random checkpoint saved as training saves it, and its results.json."""
    root = tmp_path_factory.mktemp("tiny_checkpoint")
    torch.manual_seed(0)
    model = QrtseModel(QrtseConfig.from_preset("tiny")).eval()
    model.save_pretrained(root / "best")
    QrtseFeatureExtractor(sampling_rate=model.config.sampling_rate).save_pretrained(root / "best")
    (root / "results.json").write_text(json.dumps(fake_results(root / "best", root / "no-such-build")))
    return root


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory):
    """A build folder from `qrtse.training.build_dataset` (card + build_info.json) on synthetic clips."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "training"))
    from tiny_build import write_tiny_build

    from qrtse.training.build_dataset import BuildArguments, MixingArguments, SourceArguments, build

    root = tmp_path_factory.mktemp("tiny_build")
    write_tiny_build(root, num_validation=1, num_test=1)  # writes the clip folders fg/ and bg/
    arguments = BuildArguments(
        source="folder", output=str(root / "published"), num_train=4, num_validation=2, num_test=3, no_progress=True
    )
    sources = SourceArguments(foreground_root=str(root / "fg"), background_root=str(root / "bg"))
    return build(arguments, MixingArguments(), sources)
