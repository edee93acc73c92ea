import pytest
import torch
from torch.nn import functional as F

from modeling_qrtse.kernels.gemm import linear, linear_add, onednn_linear_available


@pytest.fixture
def operands():
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(37, 12, generator=generator)
    weight = torch.randn(20, 12, generator=generator)
    bias = torch.randn(20, generator=generator)
    other = torch.randn(37, 20, generator=generator)
    return inputs, weight, bias, other


def test_onednn_probe_answers_a_bool():
    assert isinstance(onednn_linear_available(), bool)


@pytest.mark.parametrize("onednn", [True, False])
@pytest.mark.parametrize("leaky_slope", [None, 0.25])
def test_linear_matches_f_linear(operands, onednn, leaky_slope):
    inputs, weight, bias, _ = operands
    expected = F.linear(inputs, weight, bias)
    if leaky_slope is not None:
        expected = F.leaky_relu(expected, leaky_slope)
    with torch.inference_mode():
        output = linear(inputs, weight, bias, leaky_slope=leaky_slope, onednn=onednn)
    torch.testing.assert_close(output, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("onednn", [True, False])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_add_matches_addmm(operands, onednn, with_bias):
    inputs, weight, bias, other = operands
    bias = bias if with_bias else None
    expected = other + F.linear(inputs, weight, bias)
    with torch.inference_mode():
        output = linear_add(inputs, other.clone(), weight, bias, onednn=onednn)
    torch.testing.assert_close(output, expected, rtol=1e-5, atol=1e-5)


def test_with_autograd_the_result_has_gradients(operands):
    inputs, weight, bias, _ = operands
    weight = weight.clone().requires_grad_()
    linear_add(inputs, linear(inputs, weight, bias, leaky_slope=0.1), weight).sum().backward()
    assert weight.grad is not None and torch.isfinite(weight.grad).all()
