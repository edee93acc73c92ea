import pytest
from pipeline_helpers import make_pipeline


@pytest.fixture
def tiny_pipeline():
    return make_pipeline()


@pytest.fixture(scope="session")
def tiny_pipeline_folder(tmp_path_factory):
    """A tiny random model saved with `pipe.save_pretrained` (weights, feature extractor, code)."""
    folder = tmp_path_factory.mktemp("tiny_pipeline")
    make_pipeline().save_pretrained(folder)
    return folder
