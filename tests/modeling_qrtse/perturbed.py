"""A random model whose norms, PReLU slopes and biases are off their initial values, so that every
parameter the fast paths fold or fuse matters (shared by the fast-inference and fast-training tests)."""

import torch

from modeling_qrtse import QrtseModel


def perturbed_model(config, seed=0, training=False):
    torch.manual_seed(seed)
    model = QrtseModel(config).train(training)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "act" in name or "norm" in name or "bias" in name:
                parameter.add_(torch.randn_like(parameter) * 0.2)
    return model
