import pytest
import torch

from modeling_qrtse import QrtseConfig, QrtseModel


@pytest.fixture
def tiny_config():
    return QrtseConfig.from_preset("tiny")


@pytest.fixture
def tiny_model(tiny_config):
    torch.manual_seed(0)
    return QrtseModel(tiny_config).eval()
